"""The docs that are checked against the code: commands, plugin hooks, exit codes, configuration keys."""

import importlib.util
import inspect
import re
from pathlib import Path

import pytest

from unpaid import hookspecs
from unpaid.config import KNOWN_KEYS
from unpaid.errors import ExitCode

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _hookspecs():
    return [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")]


def _signature_line(func) -> str:
    """The ``def ...:`` line(s) exactly as written in hookspecs.py, joined into one line."""
    source = inspect.getsource(func)
    header = source[source.index("def "):source.index(":\n", source.index(")")) + 1]
    return " ".join(header.split())


def test_commands_md_is_up_to_date():
    spec = importlib.util.spec_from_file_location("gen_commands", DOCS / "gen_commands.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DOCS / "commands.md").read_text(encoding="utf-8") == module.render(), \
        "docs/commands.md is out of date: run `python docs/gen_commands.py`"


@pytest.mark.parametrize("func", _hookspecs(), ids=lambda f: f.__name__)
def test_plugin_hooks_md_documents_each_hookspec_with_its_signature(func):
    text = (DOCS / "plugin-hooks.md").read_text(encoding="utf-8")
    assert f"## {func.__name__}\n" in text
    assert _signature_line(func) in " ".join(text.split()), f"docs/plugin-hooks.md lacks {_signature_line(func)}"


def test_exit_codes_md_lists_every_exit_code():
    text = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\|\s*(\d+)\s*\|\s*`(\w+)`", text, re.M))
    assert rows == {str(int(code)): code.name for code in ExitCode}
    assert "case $?" in text


def test_configuration_md_describes_every_top_level_key():
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [key for key in KNOWN_KEYS if f"`{key}`" not in text]
    assert missing == []


def test_readme_links_resolve():
    root = DOCS.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#]+)", readme)
    assert links
    assert [link for link in links if not link.startswith("http") and not (root / link).exists()] == []


def test_playbooks_md_documents_every_playbook_and_step_field():
    from unpaid.playbook.model import PLAYBOOK_FIELDS, STEP_FIELDS

    text = (DOCS / "playbooks.md").read_text(encoding="utf-8")
    missing = sorted(name for name in PLAYBOOK_FIELDS | STEP_FIELDS if f"`{name}`" not in text)
    assert missing == [], f"docs/playbooks.md lacks {missing}"
    assert '<a id="conditions"></a>' in text or "\n## Conditions\n" in text  # error messages link #conditions


def test_desk_md_documents_every_outcome():
    from unpaid.desk.rules import CHOICES
    from unpaid.playbook.conditions import OUTCOMES

    text = (DOCS / "desk.md").read_text(encoding="utf-8")
    missing = [name for name in dict.fromkeys(OUTCOMES + CHOICES) if f"`{name}`" not in text]
    assert missing == [], f"docs/desk.md lacks {missing}"
