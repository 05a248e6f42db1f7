"""The shipped examples load, and every template they name — playbook steps, the desk's own messages,
the ones the docs send by hand — exists in the example's folder and renders, with and without an offer."""

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def installed_plugins(monkeypatch):
    """The example's sources are GetCourse, AutoWebOffice and CSV: load the installed connector plugins."""
    from unpaid import plugins

    monkeypatch.delenv("UNPAID_LOAD_PLUGINS", raising=False)
    plugins.set_plugins(None)
    return plugins.get_plugins()


def sent_by_hand() -> set[str]:
    """Template names the docs and `--help` pass to `unpaid send --template`."""
    names = set()
    for doc in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]:
        names |= set(re.findall(r"--template ([a-z][a-z0-9_]*)", doc.read_text(encoding="utf-8")))
    return names


def test_the_example_config_loads_without_a_word_on_stderr(cli, installed_plugins, tmp_path):
    result = cli(["--config", str(EXAMPLES / "unpaid.toml"), "--db", str(tmp_path / "x.db"), "playbooks"])
    assert result.exit_code == 0 and result.stderr == "", result.output


def test_every_template_an_example_names_exists_and_renders(installed_plugins):
    from unpaid.config import parse_config
    from unpaid.desk.send import templates_dir
    from unpaid.desk.settings import parse_desk
    from unpaid.playbook.load import SAMPLE_ORDER, load_library
    from unpaid.store.offers import StoredOffer
    from unpaid.templates import Templates, context

    config = parse_config(EXAMPLES / "unpaid.toml")
    lib = load_library(config, installed_plugins)
    named = {(pb.templates, s.template) for pb in lib.playbooks.values()
             for s in [*pb.steps, *([pb.end] if pb.end else []), *(s.fallback for s in pb.steps if s.fallback)]
             if s.template}
    desk = parse_desk(config.raw.get("desk"), config.where, config.timezone)
    folder = templates_dir(config)
    assert folder == EXAMPLES / "playbooks" / "templates"
    named |= {(folder, name) for name in [*desk.templates.values(), *sent_by_hand()]}
    assert {"unreachable", "ask_phone", "ask_proof", "bank_details", "installments"} <= {n for _, n in named}

    order = replace(SAMPLE_ORDER, manager=None)
    offers = [None] + [StoredOffer(0, "", order.id, "desk", "", kind, 15, order.created_at + timedelta(days=2),
                                   "active", order.created_at) for kind in ("discount", "bonus")]
    for where, name in sorted(named):
        assert (where / f"{name}.txt").is_file(), f"{name}.txt is missing from {where}"
        for offer in offers:
            out = Templates(where).render(name, context(order, offer, "example", name, order.created_at))
            assert out.subject.strip() and out.body.strip(), name
            assert "None" not in out.subject + out.body, name
    # the desk's messages speak the customers' language
    for name in ("unreachable", "ask_phone", "ask_proof", "bank_details", "installments"):
        assert re.search("[а-яё]", (folder / f"{name}.txt").read_text(encoding="utf-8").splitlines()[0]), name
