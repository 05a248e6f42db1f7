"""Check channels before acting: every problem of a ``[channels.NAME]`` table, and with ``online`` the server.

Used by ``unpaid doctor``, ``unpaid playbooks check`` and by ``unpaid run`` before its first claim, so a
typo stops the run with exit 2 instead of giving up every due letter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

from unpaid.channel import Problem
from unpaid.errors import ExitCode, UnpaidError
from unpaid.i18n import _, ngettext

if TYPE_CHECKING:
    from unpaid.channel import Channel
    from unpaid.config import Config
    from unpaid.plugins import Plugins


def table_problems(config: "Config", name: str, plugins: "Plugins") -> list[Problem]:
    """What is wrong with the table itself: missing, no or an unknown type, unknown keys, secrets in the file."""
    from unpaid.secrets import env_var

    section = config.section("channels")
    body = section.get(name)
    if body is None:
        known = ", ".join(sorted(section)) or _("none")
        return [Problem(name, None, _("is not configured (configured: {known})").format(known=known),
                        _("add [channels.{name}] with a type (smtp, webhook, outbox)").format(name=name))]
    if not isinstance(body, Mapping):
        return [Problem(name, None, _("must be a table"),
                        _("write [channels.{name}] and its settings below it").format(name=name))]
    channel_type = body.get("type")
    if not channel_type:
        return [Problem(name, "type", _("is missing"), _('set type = "smtp", "webhook" or "outbox"'))]
    try:
        spec = plugins.channel_spec(str(channel_type))
    except UnpaidError as exc:
        return [Problem(name, "type", exc.message, exc.fix or "")]
    by_key = {s.key: s for s in spec.settings}
    problems = []
    for key in body:
        if key == "type":
            continue
        if key not in by_key:
            known = ", ".join(sorted(by_key)) or _("none")
            problems.append(Problem(name, key, _("is not a setting of {type} channels (known: {known})").format(
                                        type=spec.name, known=known),
                                    _("remove the key or fix its spelling")))
        elif by_key[key].secret:
            problems.append(Problem(name, key, _("is a secret and must not be in the file"),
                                    _("remove it and run `unpaid auth set {name}` (or set {var})").format(
                                        name=name, var=env_var(name, key))))
    return problems


def check_channel(config: "Config", name: str, plugins: "Plugins", online: bool = False) -> list[Problem]:
    """Every problem of channel ``name``; with ``online`` (and valid settings) whether its server answers."""
    from unpaid.sources import open_channel

    problems = table_problems(config, name, plugins)
    if problems:
        return problems
    try:
        channel = open_channel(config, name, plugins, check=False)
    except UnpaidError as exc:  # a secret that cannot be read, a plugin's own refusal
        return [Problem(name, None, exc.message, exc.fix or "", exc.exit_code)]
    try:
        return _checked(channel, online)
    finally:
        channel.close()


def _checked(channel: "Channel", online: bool) -> list[Problem]:
    try:
        return list(channel.check(online))
    except UnpaidError as exc:
        return [Problem(channel.name, None, exc.message, exc.fix or "", exc.exit_code)]
    except Exception as exc:  # noqa: BLE001 - a plugin's bug in its check must not hide the other channels
        return [Problem(channel.name, None, _("its check failed: {type}: {error}").format(
                            type=type(exc).__name__, error=exc),
                        _("report it to the channel plugin's authors"), ExitCode.FAILED)]


def worst(problems: Iterable[Problem]) -> int:
    """The exit code of the worst problem (3 unreachable > 2 setting), 0 when there is none."""
    return max((int(p.exit_code) for p in problems), default=ExitCode.OK)


def require(config: "Config", names: Iterable[str], plugins: "Plugins", warn=None) -> None:
    """Raise (exit 2 or 3) when any of the channels ``names`` has a problem; ``warn`` gets every problem."""
    problems = [p for name in sorted(set(names)) for p in check_channel(config, name, plugins)]
    if not problems:
        return
    if warn is not None and len(problems) > 1:
        for problem in problems:
            warn(str(problem))
    first = problems[0]
    message = f"{first.where}: {first.message}"
    if len(problems) > 1:
        more = len(problems) - 1
        # English keeps "problems" for one: the forms are for languages that need them
        message = ngettext("{message} (and {n} more problems above)", "{message} (and {n} more problems above)",
                           more).format(message=message, n=more)
    raise UnpaidError(message, _("{fix}; nothing was sent").format(fix=first.fix),
                      exit_code=ExitCode(worst(problems)))
