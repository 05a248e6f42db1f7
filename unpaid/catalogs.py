"""Keep the gettext catalogs in step with the code: ``python -m unpaid.catalogs build|check|missing``.

Messages are found by reading the source (no import): calls of ``_``, ``N_``, ``gettext``, ``ngettext``,
``pgettext``; click's help — a command's docstring, ``help=``, ``short_help=``, ``epilog=`` and ``prompt=``
texts — which the CLI translates when it shows them; and click's own words ("Usage:", "Show this message
and exit.") read from the installed click, in a domain of their own. ``build`` writes each domain's
``.pot``, brings every ``LANG/LC_MESSAGES/DOMAIN.po`` up to it (keeping translations; texts found in
``parts/*.LANG.po`` beside them are taken in) and compiles the ``.mo`` the program reads. ``check`` is
what the test suite runs: every message translated in every language, nothing stale.

Babel is a dependency already (money and dates); this module is for the catalogs' keepers, never
imported by a command.
"""

from __future__ import annotations

import ast
import inspect
import io
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from unpaid import i18n

ROOT = Path(__file__).resolve().parent.parent
#: The languages with catalogs: all unpaid speaks but English, whose texts are the keys.
LANGUAGES = tuple(language for language in i18n.LANGUAGES if language != i18n.DEFAULT)
#: name -> (source folders, relative to the repository; locale folder)
DOMAINS: dict[str, tuple[tuple[str, ...], str]] = {
    "unpaid": (("unpaid",), "unpaid/locale"),
    "unpaid_csv": (("plugins/csv/unpaid_csv",), "plugins/csv/unpaid_csv/locale"),
    "unpaid_getcourse": (("plugins/getcourse/unpaid_getcourse",), "plugins/getcourse/unpaid_getcourse/locale"),
    "unpaid_autoweboffice": (("plugins/autoweboffice/unpaid_autoweboffice",),
                             "plugins/autoweboffice/unpaid_autoweboffice/locale"),
}
#: Code that talks to integrators in English (contract checks, scaffold templates) or is this tool; and the
#: plugins' fake accounts and seed data, which speak for the emulated APIs.
SKIP = ("unpaid/testing/", "unpaid/scaffold/", "unpaid/catalogs.py", "/tests/", "/emulator",
        "unpaid_getcourse/account.py", "unpaid_getcourse/writes.py", "unpaid_getcourse/sample.py",
        "unpaid_autoweboffice/fake_account.py", "unpaid_autoweboffice/seeds.py")
_CALLS = {"_": (1,), "N_": (1,), "gettext": (1,), "ngettext": (1, 2), "pgettext": ((1, 2))}
_HELP_KWARGS = ("help", "short_help", "epilog", "prompt")
_HEADER = "Messages of unpaid: the words of its commands, tables and errors."
#: Fixed header dates: a build with nothing new writes the same bytes (no churn in the repository).
_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Found:
    """A message found in the source: its id (a (singular, plural) pair for plurals), context, place."""

    msgid: str | tuple[str, str]
    context: str | None
    path: str
    line: int


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_click_command(decorator: ast.AST) -> bool:
    call = decorator.func if isinstance(decorator, ast.Call) else decorator
    return _name(call) in ("command", "group")


def extract_source(text: str, path: str) -> Iterator[Found]:
    """Every message in one module's source text."""
    tree = ast.parse(text, path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name in _CALLS and node.args:
                if name == "pgettext" and len(node.args) >= 2 and _text(node.args[0]) and _text(node.args[1]):
                    yield Found(_text(node.args[1]), _text(node.args[0]), path, node.lineno)
                elif name == "ngettext" and len(node.args) >= 2 and _text(node.args[0]) and _text(node.args[1]):
                    yield Found((_text(node.args[0]), _text(node.args[1])), None, path, node.lineno)
                elif name not in ("pgettext", "ngettext") and _text(node.args[0]):
                    yield Found(_text(node.args[0]), None, path, node.lineno)
            for kw in node.keywords:
                value = _text(kw.value) if kw.arg in _HELP_KWARGS else None
                if value and value.strip():
                    yield Found(inspect.cleandoc(value), None, path, kw.value.lineno)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any(_is_click_command(d) for d in node.decorator_list):
                doc = ast.get_docstring(node, clean=True)
                if doc:
                    yield Found(doc, None, path, node.body[0].lineno)


def sources(domain: str) -> Iterator[Path]:
    folders, _ = DOMAINS[domain]
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not any(skip in "/" + rel for skip in SKIP):
                yield path


def extract(domain: str) -> Catalog:
    """The domain's template catalog, from its source files (or from the installed click for ``click``)."""
    catalog = Catalog(domain=domain, project="unpaid", header_comment=f"# {_HEADER}", fuzzy=False,
                      creation_date=_DATE, revision_date=_DATE)
    if domain == "click":
        import click

        files = sorted(Path(click.__file__).parent.glob("*.py"))
        base = Path(click.__file__).parent.parent
    else:
        files, base = list(sources(domain)), ROOT
    for path in files:
        for found in extract_source(path.read_text(encoding="utf-8"), str(path)):
            catalog.add(found.msgid, context=found.context,
                        locations=[(path.relative_to(base).as_posix(), found.line)])
    return catalog


def _localedir(domain: str) -> Path:
    return ROOT / (DOMAINS[domain][1] if domain in DOMAINS else "unpaid/locale")


def all_domains() -> tuple[str, ...]:
    return (*DOMAINS, "click")


def _read(path: Path, language: str) -> Catalog | None:
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def _translations(domain: str, language: str) -> dict:
    """msgid/context -> translation from the language's .po and the parts beside it (parts win)."""
    localedir = _localedir(domain)
    known: dict = {}
    paths = [localedir / language / "LC_MESSAGES" / f"{domain}.po"]
    if domain != "click":
        paths += sorted((localedir / "parts").glob(f"*.{language}.po"))
    for path in paths:
        catalog = _read(path, language)
        for message in catalog or ():
            if message.id and message.string and (any(message.string) if isinstance(message.string, (list, tuple))
                                                  else True):
                known[(message.id, message.context)] = message.string
    return known


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=116, sort_output=False, omit_header=False, include_previous=False)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def translated(domain: str, language: str, template: Catalog | None = None) -> Catalog:
    """The language's catalog for the current template: every message, with the translations known."""
    template = template or extract(domain)
    known = _translations(domain, language)
    catalog = Catalog(locale=language, domain=domain, project="unpaid", header_comment=f"# {_HEADER}",
                      fuzzy=False, creation_date=_DATE, revision_date=_DATE)
    for message in template:
        if not message.id:
            continue
        catalog.add(message.id, known.get((message.id, message.context)), locations=message.locations,
                    context=message.context, flags=message.flags)
    return catalog


def build(domains: tuple[str, ...] | None = None) -> None:
    """Write each domain's .pot, .po and .mo files from the source and the translations known."""
    for domain in domains or all_domains():
        template = extract(domain)
        localedir = _localedir(domain)
        localedir.mkdir(parents=True, exist_ok=True)
        (localedir / f"{domain}.pot").write_bytes(_po_bytes(template))
        for language in LANGUAGES:
            catalog = translated(domain, language, template)
            folder = localedir / language / "LC_MESSAGES"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{domain}.po").write_bytes(_po_bytes(catalog))
            (folder / f"{domain}.mo").write_bytes(_mo_bytes(catalog))


def _untranslated(catalog: Catalog) -> list[str]:
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if not all(strings) or (message.pluralizable and len(strings) < catalog.num_plurals):
            missing.append(message.id[0] if isinstance(message.id, tuple) else message.id)
    return missing


def missing(domain: str, language: str) -> list[str]:
    """Messages of the source without a translation in ``language`` (from the .po and the parts)."""
    return _untranslated(translated(domain, language))


def check(domains: tuple[str, ...] | None = None) -> list[str]:
    """What is wrong with the catalogs, one line each: untranslated, stale .po or .mo."""
    problems = []
    for domain in domains or all_domains():
        template = extract(domain)
        localedir = _localedir(domain)
        for language in LANGUAGES:
            catalog = translated(domain, language, template)
            for msgid in _untranslated(catalog):
                problems.append(f"{domain} [{language}]: no translation for {msgid!r}")
            folder = localedir / language / "LC_MESSAGES"
            mo = folder / f"{domain}.mo"
            if not mo.is_file() or mo.read_bytes() != _mo_bytes(catalog):
                problems.append(f"{domain} [{language}]: {mo.relative_to(ROOT)} is not built from the source "
                                f"and translations: run `python -m unpaid.catalogs build`")
    return problems


def fragment(domain: str, area: str, files: list[str]) -> list[Path]:
    """Write ``parts/AREA.LANG.po`` with the messages of ``files`` (translations already there are kept),
    for translating one part of the code while others translate theirs."""
    written = []
    template = Catalog(domain=domain, project="unpaid", fuzzy=False, creation_date=_DATE, revision_date=_DATE)
    for name in files:
        path = (ROOT / name) if not Path(name).is_absolute() else Path(name)
        for found in extract_source(path.read_text(encoding="utf-8"), str(path)):
            template.add(found.msgid, context=found.context,
                         locations=[(path.relative_to(ROOT).as_posix(), found.line)])
    parts = _localedir(domain) / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    for language in LANGUAGES:
        target = parts / f"{area}.{language}.po"
        known = {(m.id, m.context): m.string for m in (_read(target, language) or ()) if m.id}
        known_all = _translations(domain, language)
        catalog = Catalog(locale=language, domain=domain, project="unpaid", fuzzy=False, creation_date=_DATE,
                          revision_date=_DATE)
        for message in template:
            if message.id:
                key = (message.id, message.context)
                catalog.add(message.id, known.get(key) or known_all.get(key), locations=message.locations,
                            context=message.context, flags=message.flags)
        target.write_bytes(_po_bytes(catalog))
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    names = tuple(argv[1:]) or None
    if command == "build":
        build(names)
        return 0
    if command == "fragment" and len(argv) >= 4:
        for path in fragment(argv[1], argv[2], argv[3:]):
            print(path.relative_to(ROOT))
        return 0
    if command == "missing":
        for domain in names or all_domains():
            for language in LANGUAGES:
                for msgid in missing(domain, language):
                    print(f"{domain} [{language}]: {msgid!r}")
        return 0
    if command == "check":
        problems = check(names)
        print("\n".join(problems) or "catalogs complete")
        return 1 if problems else 0
    print("usage: python -m unpaid.catalogs build|check|missing [DOMAIN…]\n"
          "       python -m unpaid.catalogs fragment DOMAIN AREA FILE…", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
