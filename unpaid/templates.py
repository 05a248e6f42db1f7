"""Message templates: Jinja2 files beside the config, rendered in a sandbox with strict undefined.

A template file ``NAME.txt`` starts with a ``Subject:`` line, then a blank line, then the body;
an optional ``NAME.html`` beside it is the HTML part. A missing variable is an error when the
playbook is checked, never a blank in a customer's inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Mapping

from unpaid.errors import ConfigError
from unpaid.i18n import _
from unpaid.template_limits import TemplateLimit, render_limited

#: Names a template may use.
VARIABLES = ("order", "customer", "offer", "payment_link", "playbook", "step", "now", "language")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    html: str | None = None


class Templates:
    """The templates of one folder; environments are built once and reused."""

    def __init__(self, folder: Path):
        # Imported here: jinja2 costs ~40 ms and `unpaid --help` must not pay it.
        from jinja2 import FileSystemLoader, StrictUndefined

        from unpaid.template_limits import limited_environment

        self.folder = folder
        # One command renders a template thousands of times (a run's letters): it is read and compiled once,
        # not looked at on disk again before each letter (auto_reload).
        self.env = limited_environment(loader=FileSystemLoader(str(folder)), undefined=StrictUndefined,
                                       autoescape=False, keep_trailing_newline=True, auto_reload=False)
        self.html_env = limited_environment(loader=FileSystemLoader(str(folder)), undefined=StrictUndefined,
                                            autoescape=True, auto_reload=False)
        self._files: dict[tuple[str, str | None], tuple[Path, Path | None]] = {}

    def files(self, name: str, language: str | None = None) -> tuple[Path, Path | None]:
        """``NAME.LANG.txt`` (and ``.html``) when the letter's language has its own, else ``NAME.txt``; found
        once per command."""
        found = self._files.get((name, language))
        if found is None:
            found = self._files[(name, language)] = self._find(name, language)
        return found

    def _find(self, name: str, language: str | None) -> tuple[Path, Path | None]:
        if language:
            text = self.folder / f"{name}.{language}.txt"
            if text.is_file():
                html = self.folder / f"{name}.{language}.html"
                return text, (html if html.is_file() else None)
        text = self.folder / f"{name}.txt"
        html = self.folder / f"{name}.html"
        return text, (html if html.is_file() else None)

    def check(self, name: str, where: str, contexts: list[Mapping[str, Any]]) -> None:
        """Parse the template and each language's version of it, render each with every sample context;
        ConfigError naming file and line."""
        from unpaid.i18n import LANGUAGES

        text, _html = self.files(name)
        if not text.is_file():
            raise ConfigError(_("{where}: template {name!r} not found ({text})").format(
                where=where, name=name, text=text),
                              _("create {name} in {folder} (first line: Subject: ...)").format(
                                  name=text.name, folder=self.folder))
        for language in (None, *LANGUAGES):
            found = self.files(name, language)
            if language is None or found[0] != text:
                self._check_files(*found, where, [{**c, "language": language or c.get("language", "en")}
                                                  for c in contexts])

    def _check_files(self, text: Path, html: Path | None, where: str, contexts: list[Mapping[str, Any]]) -> None:
        from jinja2 import TemplateSyntaxError, UndefinedError, meta

        for path, env in ((text, self.env), (html, self.html_env)):
            if path is None:
                continue
            source = path.read_text(encoding="utf-8")
            try:
                parsed = env.parse(source)
            except TemplateSyntaxError as exc:
                raise ConfigError(_("{path}:{lineno}: template syntax error: {message}").format(
                    path=path, lineno=exc.lineno, message=exc.message),
                                  _("fix the template (Jinja2 syntax: {{ order.number }}, {% if offer %})")) from None
            unknown = sorted(meta.find_undeclared_variables(parsed) - set(VARIABLES))
            if unknown:
                raise ConfigError(_("{path}: unknown variable {value!r} (used by {where})").format(
                    path=path, value=unknown[0], where=where),
                                  _("use only: {names}").format(names=', '.join(VARIABLES)))
            for context in contexts:
                try:
                    render_limited(env.get_template(path.name), context)
                except TemplateLimit as exc:
                    raise _too_big(path, exc, where) from None
                except UndefinedError as exc:
                    state = _("without an offer") if context.get("offer") is None else _("with an offer")
                    raise ConfigError(_("{path}: {message} (rendering {state}, used by {where})").format(
                        path=path, message=exc.message, state=state, where=where),
                                      _("fix the name, or guard it: {% if offer %}...{% endif %}")) from None
                except Exception as exc:  # noqa: BLE001 - sandbox violations, bad filters: a template error
                    raise ConfigError(_("{path}: cannot render: {exc}").format(path=path, exc=exc),
                                      _("fix the template")) from None
        if not self._subject(text.read_text(encoding="utf-8")):
            raise ConfigError(_("{text}: first line must be `Subject: ...`").format(text=text),
                              _("add a subject line, then a blank line"))

    def render(self, name: str, context: Mapping[str, Any]) -> Rendered:
        """Render subject, body (and HTML when present); errors become ConfigError naming the file."""
        from jinja2 import TemplateError

        text, html = self.files(name, context.get("language"))
        try:
            full = render_limited(self.env.get_template(text.name), context)
            html_body = render_limited(self.html_env.get_template(html.name), context) if html else None
        except TemplateLimit as exc:
            raise _too_big(text, exc, name) from None
        except TemplateError as exc:
            raise ConfigError(_("{text}: cannot render: {exc}").format(text=text, exc=exc),
                              _("run `unpaid playbooks check` and fix it")) from None
        subject, body = self._split(full)
        return Rendered(subject, body, html_body)

    def render_string(self, source: str, context: Mapping[str, Any], where: str) -> str:
        """Render an inline template (a call script); ConfigError naming ``where`` on errors."""
        from jinja2 import TemplateError

        try:
            return render_limited(self.env.from_string(source), context)
        except TemplateLimit as exc:
            raise _too_big(where, exc, where) from None
        except TemplateError as exc:
            raise ConfigError(_("{where}: {exc}").format(where=where, exc=exc),
                              _("fix the text (Jinja2 syntax)")) from None

    @staticmethod
    def _subject(source: str) -> str | None:
        first = source.lstrip("\ufeff").split("\n", 1)[0]
        return first[len("Subject:"):].strip() if first.lower().startswith("subject:") else None

    def _split(self, full: str) -> tuple[str, str]:
        head, _newline, body = full.partition("\n")
        subject = head[len("Subject:"):].strip() if head.lower().startswith("subject:") else ""
        return subject, body.lstrip("\n")


def _too_big(path: Any, exc: Exception, where: str) -> ConfigError:
    return ConfigError(_("{path}: cannot render: {exc} (used by {where})").format(path=path, exc=exc, where=where),
                       _("a message is a letter: shorten the loops or the repeated text"))


def reader_zone(order: Any, *fallbacks: str | None) -> tzinfo | None:
    """The zone a customer reads times in: theirs (``extra.timezone``) where known, else the first fallback."""
    from unpaid.clock import get_zone

    for name in ((order.extra or {}).get("timezone"), *fallbacks):
        if name:
            try:
                return get_zone(name)
            except ValueError:  # an unknown zone in a customer's record: try the next
                continue
    return None


def context(order: Any, offer: Any = None, playbook: str = "", step: str = "",
            now: datetime | None = None, zone: tzinfo | None = None, name_order: str = "auto",
            language: str = "en") -> dict[str, Any]:
    """The variables a template sees, from an :class:`~unpaid.model.Order` and the active offer.

    Times are written in ``zone`` (the customer's, else the shop's): a customer reads "until
    2026-11-26 23:59" in their own clock, not in UTC. The name is split as the source writes it
    (``name_order``, see :mod:`unpaid.names`): "Кузнецов Иван Петрович" greets "Иван Петрович". Money
    and times print as before; the ``money`` and ``date`` filters write them in ``language``.
    """
    from unpaid.i18n import MomentText, MoneyText
    from unpaid.names import split_name

    reader = zone or timezone.utc

    def local(dt: datetime) -> str:
        return MomentText(dt.astimezone(reader).strftime("%Y-%m-%d %H:%M"), dt, reader)

    customer = order.customer
    total = order.total
    order_vars = {
        "id": order.id, "number": order.number or order.native_id, "source": order.source,
        "status": order.status.value, "total": MoneyText(str(total), total.minor, total.currency),
        "amount": f"{total.decimal:.2f}",
        "currency": total.currency, "product": order.product_title or (order.product_key or ""),
        "product_id": order.product_key or "", "created_at": local(order.created_at),
        "payment_link": order.payment_link or "", "manager": order.manager or "", "extra": dict(order.extra),
    }
    person = split_name(customer.name, name_order)
    customer_vars = {"name": customer.name or "", "email": customer.email or "", "phone": customer.phone or "",
                     "first_name": person.first, "last_name": person.last, "middle_name": person.middle,
                     "greeting_name": person.greeting}
    offer_vars = None
    if offer is not None:
        price = total.minor * (100 - offer.percent) // 100 if offer.kind == "discount" else total.minor
        offer_vars = {"kind": offer.kind, "percent": offer.percent,
                      "valid_until": local(offer.valid_until),
                      "price": MoneyText(str(type(total)(price, total.currency)), price, total.currency)}
    return {"order": order_vars, "customer": customer_vars, "offer": offer_vars,
            "payment_link": order.payment_link or "", "playbook": playbook, "step": step, "language": language,
            "now": local(now or datetime.now(timezone.utc))}
