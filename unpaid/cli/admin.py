"""``unpaid init``, ``auth``, ``doctor`` and ``plugins``: set up, store secrets, check, list plugins."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from unpaid.cli.answer import answer
from unpaid.cli.options import complete_source, format_option
from unpaid.errors import ConfigError, InputError
from unpaid.i18n import LANGUAGES, N_, _, ngettext

if TYPE_CHECKING:
    from unpaid.cli.context import App
    from unpaid.connector import Setting
    from unpaid.plugins import Plugins

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default=None,
                      help="Output format [default: the global --format, else table].")


# ---- init ----

#: Written into the starter after ``default_country``: the language the shop's people read.
LANGUAGE_BLOCK = """
# The shop's language (en, ru, uk): the commands' words, and money and dates in letters.
language = "{language}"
"""


def _starter_language() -> str:
    """The language for a new config: asked in a terminal (the detected one as the default), else detected
    from UNPAID_LANG or the POSIX locale."""
    from unpaid.i18n import resolve

    detected = resolve(None)
    if not getattr(sys.stdin, "isatty", lambda: False)():
        return detected
    return click.prompt(_("The shop's language"), type=click.Choice(LANGUAGES), default=detected)


def _with_language(starter: str, language: str) -> str:
    anchor = 'default_country = "7"\n'
    return starter.replace(anchor, anchor + LANGUAGE_BLOCK.format(language=language), 1)


@click.command()
@click.argument("path", required=False, type=click.Path(dir_okay=True, path_type=Path), default=Path("unpaid.toml"))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--language", type=click.Choice(LANGUAGES), default=None,
              help="The shop's language, written as `language` [default: asked in a terminal, else UNPAID_LANG "
                   "or the locale].")
@format_option
@click.pass_obj
def init(app: "App", path: Path, force: bool, language: str | None, fmt: str):
    """Write a commented starter unpaid.toml to PATH [default: ./unpaid.toml].

    It sets the time zone, the phone country code, the database and cancel reasons, defines
    one CSV source, and shows GetCourse and AutoWebOffice sources, channels, segments, a
    playbook and a calendar as commented examples; the playbook's letter is written to
    templates/reminder.txt beside it (unless one is there). A PATH that is a folder gets
    unpaid.toml inside it. The shop's language is asked for in a terminal, else taken from
    UNPAID_LANG or the locale, unless --language gives it.

    \b
    Examples:
      unpaid init && $EDITOR unpaid.toml && unpaid doctor
      unpaid init ~/.config/unpaid
      unpaid init --language ru
    """
    from importlib.resources import files

    if path.is_dir():
        path = path / "unpaid.toml"
    if path.exists() and not force:
        raise InputError(_("{path} already exists").format(path=path),
                         _("edit it, or pass --force to overwrite it with the starter"))
    language = language or _starter_language()
    data = files("unpaid").joinpath("data")
    letter = path.parent / "templates" / "reminder.txt"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_with_language(data.joinpath("unpaid.toml").read_text(encoding="utf-8"), language),
                        encoding="utf-8")
        if not letter.exists():  # the sample playbook's letter, so that it loads once uncommented
            letter.parent.mkdir(exist_ok=True)
            letter.write_text(data.joinpath("demo_reminder.txt").read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as exc:
        raise InputError(_("cannot write {path}: {reason}").format(path=exc.filename or path, reason=exc.strerror),
                         _("choose a writable path")) from None
    app.info(_("wrote {path} — edit the [sources.shop] path, then run `unpaid doctor` and `unpaid sync`")
             .format(path=path))
    answer(app, fmt, {"path": str(path), "written": True, "template": str(letter), "language": language})


# ---- auth ----


def _secret_settings(app: "App", name: str) -> tuple[Setting, ...]:
    """The secret settings of source (or channel) ``name``, from its plugin's spec."""
    config = app.config
    if name in config.sources or name not in config.section("channels"):
        spec = app.plugins.connector_spec(config.source(name).type)
    else:
        channel_type = config.section("channels")[name].get("type", "")
        spec = app.plugins.channel_spec(channel_type)
    secret = tuple(s for s in spec.settings if s.secret)
    if not secret:
        raise InputError(_("{name!r} ({type}) takes no secrets").format(name=name, type=spec.name),
                         _("nothing to store; check `unpaid doctor`"))
    return secret


def _pick(settings: tuple[Setting, ...], keys: tuple[str, ...], name: str) -> tuple[Setting, ...]:
    if not keys:
        return settings
    by_key = {s.key: s for s in settings}
    for key in keys:
        if key not in by_key:
            raise InputError(_("--key {key!r} is not a secret of {name!r}").format(key=key, name=name),
                             _("use one of: {keys}").format(keys=", ".join(by_key)))
    return tuple(by_key[k] for k in dict.fromkeys(keys))


@click.group()
def auth():
    """Store, check or delete a source's secret keys.

    Secrets live in the system keyring (service "unpaid"), never in unpaid.toml. An
    environment variable UNPAID_SECRET_<SOURCE>_<KEY> overrides the keyring (cron, containers).
    """


@auth.command("set")
@click.argument("source", shell_complete=complete_source)
@click.option("--key", "keys", multiple=True, metavar="NAME", help="Only this secret (repeatable) [default: all].")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the values from standard input, one line per secret, in order (for scripts).")
@format_option
@click.pass_obj
def auth_set(app: "App", source: str, keys: tuple[str, ...], from_stdin: bool, fmt: str):
    """Store SOURCE's secrets in the keyring; prompts for each without echoing it.

    \b
    Examples:
      unpaid auth set school
      printf '%s\\n' "$KEY" | unpaid auth set school --key api_key --stdin
    """
    from unpaid.secrets import env_var, set_secret

    settings = _pick(_secret_settings(app, source), keys, source)
    lines = sys.stdin.read().splitlines() if from_stdin else []
    stored = []
    for i, setting in enumerate(settings):
        if from_stdin:
            if i >= len(lines) or not lines[i].strip():
                raise InputError(_("standard input has no value for {key} (line {line})")
                                 .format(key=setting.key, line=i + 1),
                                 _("give one line per secret, in this order: {keys}")
                                 .format(keys=", ".join(s.key for s in settings)))
            value = lines[i].strip()
        else:
            value = click.prompt(_("{key} for {source} ({help})").format(key=setting.key, source=source,
                                                                          help=setting.help), hide_input=True,
                                 default="" if not setting.required else None, show_default=False).strip()
            if not value:
                app.info(_("{key}: left as it was").format(key=setting.key))
                continue
        set_secret(source, setting.key, value)
        stored.append(setting.key)
        app.info(_("{key}: stored in the keyring").format(key=setting.key))
        if os.environ.get(env_var(source, setting.key)):
            app.warn(_("{var} is set and overrides the keyring value").format(var=env_var(source, setting.key)))
    answer(app, fmt, {"source": source, "stored": stored})


@auth.command("get")
@click.argument("source", shell_complete=complete_source)
@FORMAT
@click.pass_obj
def auth_get(app: "App", source: str, fmt: str | None):
    """Show which of SOURCE's secrets are set and where from (env or keyring) — never the values.

    Exits 2 when a required secret is missing.
    """
    from unpaid.output import Column, render
    from unpaid.secrets import MASK, env_var, get_secret

    rows, missing = [], []
    for s in _secret_settings(app, source):
        var = env_var(source, s.key)
        where = "env" if os.environ.get(var) else "keyring" if get_secret(source, s.key, environ={}) else None
        if where is None and s.required:
            missing.append(s.key)
        rows.append({"key": s.key, "required": s.required, "set": where is not None, "from": where,
                     "env_var": var, "value": MASK if where else None, "help": s.help})
    columns = [Column("key", N_("secret")), Column("required", N_("required")), Column("from", N_("from")),
               Column("value", N_("value")), Column("env_var", N_("env override"))]
    render(rows, fmt or app.format, app.stdout, columns)
    if missing:
        raise ConfigError(_("{source}: no {keys} stored").format(source=source, keys=", ".join(missing)),
                          _("run `unpaid auth set {source}`").format(source=source))


@auth.command("delete")
@click.argument("source", shell_complete=complete_source)
@click.option("--key", "keys", multiple=True, metavar="NAME", help="Only this secret (repeatable) [default: all].")
@format_option
@click.pass_obj
def auth_delete(app: "App", source: str, keys: tuple[str, ...], fmt: str):
    """Delete SOURCE's secrets from the keyring."""
    from unpaid.secrets import delete_secret, env_var

    deleted = []
    for s in _pick(_secret_settings(app, source), keys, source):
        gone = delete_secret(source, s.key)
        if gone:
            deleted.append(s.key)
        app.info((_("{key}: deleted from the keyring") if gone else _("{key}: was not in the keyring"))
                 .format(key=s.key))
        if os.environ.get(env_var(source, s.key)):
            app.warn(_("{var} is still set in the environment").format(var=env_var(source, s.key)))
    answer(app, fmt, {"source": source, "deleted": deleted})


# ---- doctor ----


@click.command()
@click.option("--online", is_flag=True,
              help="Also call each source once (a cheap read) and connect to each channel (nothing is sent).")
@FORMAT
@click.pass_obj
def doctor(app: "App", online: bool, fmt: str | None):
    """Check the config, plugins, each source's and channel's settings and secrets, the store and the keyring.

    Each check prints ok, warn, skip or fail, and a fix for each failure. With --online an SMTP
    channel connects, says EHLO, starts TLS and logs in as configured, then quits; a webhook's host
    is resolved and connected to; an outbox folder gets a test file. No message is sent.

    \b
    Exit status: 0 all passed; otherwise the worst failure's code (2 config / plugin / store /
      channel setting problem, 3 a source or channel unreachable or refusing the keys).
    """
    from unpaid.doctor import FAIL, run_checks, worst
    from unpaid.output import Column, render
    from unpaid.plugins import get_plugins

    checks = list(run_checks(lambda: app.config, get_plugins, lambda: app.db_path, online))
    render((c.as_dict() for c in checks), fmt or app.format, app.stdout,
           [Column("name", N_("check")), Column("result", N_("result")), Column("detail", N_("detail")),
            Column("fix", N_("fix"))])
    failed = [c for c in checks if c.result == FAIL]
    if failed:
        # English keeps "checks" for one: the forms are for languages that need them
        app.info(ngettext("{failed} of {n} checks failed", "{failed} of {n} checks failed", len(checks))
                 .format(failed=len(failed), n=len(checks)))
    else:
        app.info(ngettext("all {n} checks passed", "all {n} checks passed", len(checks)).format(n=len(checks)))
    code = worst(checks)
    if code:
        click.get_current_context().exit(code)


# ---- plugins ----


def plugin_rows(plugins: "Plugins", all_: bool = False) -> list[dict]:
    """One record per plugin: what it registers and what each connector can do; failures as rows."""
    connectors, channels = plugins.connectors, plugins.channels
    errors = {p.plugin: p for p in plugins.problems}
    rows = []
    for info in plugins.info.values():
        if info.default and not all_:
            continue
        problem = errors.pop(info.name, None)  # loaded, but a hook failed
        rows.append({
            "name": info.name, "distribution": info.distribution, "version": info.version, "default": info.default,
            "hooks": info.hooks,
            "connectors": [_connector(connectors[n]) for n in info.connectors if n in connectors],
            "channels": [_channel(channels[n]) for n in info.channels if n in channels],
            "error": problem and problem.error, "fix": problem and problem.fix,
        })
    for p in errors.values():
        rows.append({"name": p.plugin, "distribution": p.distribution, "version": p.version, "default": False,
                     "hooks": [], "connectors": [], "channels": [], "error": p.error, "fix": p.fix})
    return rows


def _connector(spec) -> dict:
    caps = sorted(c.value for c in spec.capabilities)
    return {"name": spec.name, "title": spec.title, "capabilities": caps, "triggers": list(spec.triggers),
            "events": list(spec.events),
            "settings": [{"key": s.key, "required": s.required, "secret": s.secret} for s in spec.settings]}


def _channel(spec) -> dict:
    return {"name": spec.name, "title": spec.title, "address": spec.address, "dedupes": spec.dedupes,
            "settings": [{"key": s.key, "required": s.required, "secret": s.secret} for s in spec.settings]}


def _provides(row: dict) -> str:
    lines = []
    for c in row["connectors"]:
        capabilities = ", ".join(c["capabilities"])
        if c["triggers"]:
            lines.append(_("connector {name}: {capabilities}; triggers: {triggers}").format(
                name=c["name"], capabilities=capabilities, triggers=", ".join(c["triggers"])))
        else:
            lines.append(_("connector {name}: {capabilities}").format(name=c["name"], capabilities=capabilities))
    lines += [_("channel {name}: to {address}").format(name=c["name"], address=c["address"])
              for c in row["channels"]]
    if row["error"]:
        lines.append(_("BROKEN: {error} — {fix}").format(error=row["error"], fix=row["fix"]))
    if not lines and "register_commands" in row["hooks"]:
        lines.append(_("commands"))
    return "\n".join(lines)


@click.command()
@click.option("--all", "all_", is_flag=True, help="Also list the built-in default plugins (the channels).")
@FORMAT
@click.pass_obj
def plugins(app: "App", all_: bool, fmt: str | None):
    """List installed plugins, the connectors and channels each registers and what they can do.

    A plugin that failed to load is listed with the error and the fix. UNPAID_LOAD_PLUGINS
    (comma-separated names; empty for none) limits which are loaded; UNPAID_BLOCK_PLUGINS
    blocks some by name.

    \b
    Examples:
      unpaid plugins --all
      unpaid plugins --format json | jq '.[].connectors[].capabilities'
    """
    from unpaid.output import Column, render

    fmt = fmt or app.format
    loaded = app.plugins
    known = len(loaded.problems)  # failures at import were already warned about when loading
    rows = plugin_rows(loaded, all_)
    for problem in loaded.problems[known:]:
        app.warn(str(problem))
    if fmt == "table":
        for row in rows:
            row["provides"] = _provides(row)
        columns = [Column("name", N_("plugin")), Column("distribution", N_("distribution")),
                   Column("version", N_("version")), Column("provides", N_("provides"))]
        if not rows:
            app.info(_("no plugins installed — e.g. `unpaid install ./plugins/csv` from a checkout of unpaid; "
                       "`--all` shows the built-in ones"))
        render(rows, fmt, app.stdout, columns)
    else:
        render(rows, fmt, app.stdout)
