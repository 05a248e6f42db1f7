"""The catalogs are complete and match the code: every message translated into Russian and Ukrainian with
the same placeholders, the compiled .mo files built from the .po, and no human-facing text left unmarked."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from unpaid import catalogs

ROOT = Path(catalogs.__file__).resolve().parent.parent


def test_every_message_is_translated_into_each_language_and_compiled():
    problems = catalogs.check()
    assert not problems, "\n".join(problems[:40]) + (f"\n… and {len(problems) - 40} more" if len(problems) > 40 else "")


def _fields(text: str) -> set[str]:
    """The placeholders ``{name}`` of a message (``{{`` is a literal brace)."""
    try:
        return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return {"<unbalanced braces>"}


@pytest.mark.parametrize("domain", catalogs.all_domains())
@pytest.mark.parametrize("language", catalogs.LANGUAGES)
def test_translations_keep_the_placeholders_of_the_english_text(domain, language):
    """A translation that renames or drops ``{name}`` fails at run time with a KeyError: caught here."""
    wrong = []
    for message in catalogs.translated(domain, language):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        expected = set().union(*(_fields(i) for i in ids))
        if domain == "click":  # click formats with %-style and {name}: compare the {name} ones only
            expected = {f for f in expected if f.isidentifier()}
        for text in strings:
            if text and _fields(text) - expected:
                wrong.append(f"{ids[0]!r} -> {text!r}")
    assert not wrong, "\n".join(wrong)


#: Calls whose text people read: progress lines, warnings, errors and their fixes.
_SINKS = {"info", "warn", "error", "echo", "secho", "UsageError", "BadParameter", "ClickException"}
_TRANSLATE = {"_", "ngettext", "pgettext", "N_", "gettext", "lookup"}
_WORD = re.compile(r"[A-Za-z]{3,}")


def _error_classes() -> set[str]:
    """UnpaidError and every class deriving from it anywhere in unpaid and the plugins."""
    names, bases = {"UnpaidError"}, {}
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
    grew = True
    while grew:
        grew = False
        for name, parents in bases.items():
            if name not in names and parents & names:
                names.add(name)
                grew = True
    return names


def _python_files() -> list[Path]:
    files = []
    for domain in catalogs.DOMAINS:
        files += list(catalogs.sources(domain))
    return files


def _human_literal(node: ast.AST) -> bool:
    """A text written in place (not passed through a catalog) that reads as words: ``"cannot read"``,
    ``f"{path} is missing"``. Keys and codes (no space) are not words people read."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return " " in node.value.strip() and bool(_WORD.search(node.value))
    if isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        return " " in text.strip() and bool(_WORD.search(text))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _human_literal(node.left) or _human_literal(node.right)
    return False


def _name(func: ast.AST) -> str:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def test_text_people_read_goes_through_the_catalog():
    """Messages, warnings, errors and fixes are marked for translation (``# i18n: no`` on the line exempts
    one that must stay as it is)."""
    sinks = _SINKS | _error_classes()
    unmarked = []
    for path in _python_files():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.Call) and _name(node.func) in sinks):
                continue
            args = list(node.args) + [kw.value for kw in node.keywords if kw.arg in ("fix", "hint", "message")]
            for arg in args:
                if _human_literal(arg) and "# i18n: no" not in lines[arg.lineno - 1]:
                    unmarked.append(f"{path.relative_to(ROOT)}:{arg.lineno}: {ast.unparse(arg)[:90]}")
    assert not unmarked, f"{len(unmarked)} unmarked texts:\n" + "\n".join(unmarked[:60])


def test_no_message_is_built_before_it_is_looked_up():
    """``_(f"…")`` or ``_("a" + b)`` can never match the catalog: the text must be a literal."""
    built = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _name(node.func) in ("_", "ngettext", "N_") and node.args:
                first = node.args[0]
                if isinstance(first, (ast.JoinedStr, ast.BinOp)):
                    built.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:90]}")
    assert not built, "\n".join(built)


def test_the_template_lists_the_code_s_messages():
    """The .pot files in the repository hold the messages the code gives (``python -m unpaid.catalogs build``);
    where a message sits may move with edits, which needs no rebuild."""
    stale = []
    for domain in catalogs.DOMAINS:
        pot = catalogs._localedir(domain) / f"{domain}.pot"
        kept = {(m.id, m.context) for m in catalogs._read(pot, "en") or () if m.id}
        if kept != {(m.id, m.context) for m in catalogs.extract(domain) if m.id}:
            stale.append(str(pot.relative_to(ROOT)))
    assert not stale, f"rebuild with `python -m unpaid.catalogs build`: {stale}"
