"""docs/connectors/writing.md is the one page a connector author needs: every name it mentions imports,
every method and field of the contract is on it, and docs/plugin-hooks.md agrees with it."""

import builtins
import importlib
import inspect
import re
from dataclasses import fields
from pathlib import Path

import pytest

from unpaid.connector import Connector, ConnectorSpec
from unpaid.testing.contract import ConnectorContract

DOCS = Path(__file__).parents[1] / "docs"
WRITING = (DOCS / "connectors" / "writing.md").read_text(encoding="utf-8")
HOOKS = (DOCS / "plugin-hooks.md").read_text(encoding="utf-8")
#: The modules the page tells authors to import from.
MODULES = ["unpaid", "unpaid.connector", "unpaid.model", "unpaid.text", "unpaid.http", "unpaid.ratelimit",
           "unpaid.source_state", "unpaid.errors", "unpaid.testing.contract", "unpaid.testing.build",
           "unpaid.testing.fakes", "unpaid.testing.fixtures"]
#: Names of the example package and third-party types the page shows, not unpaid's.
EXAMPLE = {"MyshopConnector", "TestMyshopConnector", "Faults", "Shop", "Iterator", "Sequence", "Mapping", "Any",
           "Retry"}  # the Retry-After header


def code_spans(text):
    return re.findall(r"`([^`\n]+)`", text) + re.findall(r"```[a-z]*\n(.*?)```", text, re.S)


def anchors(text):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def resolve(dotted):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_every_unpaid_path_on_the_page_imports():
    paths = {m for span in code_spans(WRITING) for m in re.findall(r"\bunpaid(?:\.[a-z_]+)+(?:\.[A-Za-z_]+)?",
                                                                      span)}
    paths -= {p for p in paths if p.rpartition(".")[2] in ("toml", "db", "md")}  # file names
    assert len(paths) > 10
    for path in sorted(paths):
        resolve(path)


def test_every_import_statement_on_the_page_runs():
    statements = [s for block in re.findall(r"```python\n(.*?)```", WRITING, re.S)
                  for s in re.findall(r"^\s*from (unpaid(?:\.\w+)*) import ([\w, ]+)$", block, re.M)]
    assert len(statements) >= 5
    for module, names in statements:
        for name in names.split(","):
            assert hasattr(importlib.import_module(module), name.strip()), f"from {module} import {name.strip()}"


def test_every_class_name_on_the_page_is_importable_from_a_module_it_names():
    namespace = {}
    for module in MODULES:
        namespace.update(vars(importlib.import_module(module)))
    camel = r"\b([A-Z][a-z]+[A-Z][A-Za-z]*|[A-Z][a-z]+)\b"
    code = [re.sub(r"#.*$|\"[^\"\n]*\"|'[^'\n]*'", "", block, flags=re.M)
            for block in re.findall(r"```python\n(.*?)```", WRITING, re.S)]
    spans = [span for span in re.findall(r"`([^`\n]+)`", WRITING) if re.match(r"[A-Z]", span)]
    names = {n for text in code for n in re.findall(camel, text)} | {re.match(r"\w+", s)[0] for s in spans}
    names = {n for n in names if re.fullmatch(r"[A-Z]\w*[a-z]\w*", n) and not hasattr(builtins, n)}
    unknown = sorted(n for n in names - EXAMPLE if n not in namespace and not hasattr(namespace.get("Status"), n)
                     and not hasattr(namespace.get("Capability"), n))
    assert unknown == [], unknown


def test_every_method_of_the_connector_and_field_of_the_spec_is_documented():
    methods = [n for n, f in vars(Connector).items() if not n.startswith("_") and callable(f)]
    methods += ["state", "probe", "fetch_many", "push_statuses", "set_manager"]
    for name in methods:
        assert f"{name}(" in WRITING or f"`{name}`" in WRITING, name
    for field in fields(ConnectorSpec):
        assert f"`{field.name}`" in WRITING, field.name
    for name in ("warnings", "snapshot", "Snapshot(ids, count", "Reject(where, reason", "fresh_within",
                 "refresh_by_sync", "self.spec", "self.name"):
        assert name in WRITING, name


def test_the_signatures_on_the_page_are_the_real_ones():
    for name in ("fetch_orders", "fetch_order", "fetch_many", "push_status", "push_statuses", "update_contact",
                 "trigger", "add_comment", "set_manager", "fetch_events"):
        params = [p for p in inspect.signature(getattr(Connector, name)).parameters if p != "self"]
        line = next(l for l in WRITING.splitlines() if l.startswith(f"def {name}("))
        block = line if line.rstrip().endswith(": ...") else WRITING[WRITING.index(line):].split(": ...")[0]
        assert re.findall(r"(\w+):", block.partition("(")[2].rpartition(") ->")[0]) == params, name


def test_every_fixture_and_fault_the_suite_uses_is_documented():
    for fixture in ("connector", "reopen", "seed", "faults", "secrets"):
        assert f"`{fixture}`" in WRITING or f"`{fixture}(" in WRITING, fixture
        assert fixture in inspect.signature(ConnectorContract.test_secrets_never_leak).parameters \
            or any(fixture in inspect.signature(getattr(ConnectorContract, n)).parameters
                   for n in dir(ConnectorContract) if n.startswith("test_"))
    for fault in ("auth_failure()", "rate_limit(retry_after)", "temporary()", "garbage()", "unreadable(native_id)"):
        assert fault in WRITING, fault
    for hook in ("sample_orders(self, source)", "reads_back_as(self, status)", "keeps_cancel_reason"):
        assert hook in WRITING, hook


def test_every_section_a_check_points_to_is_a_heading():
    sections = {getattr(ConnectorContract, n).section for n in dir(ConnectorContract) if n.startswith("test_")}
    assert sections <= anchors(WRITING), sorted(sections - anchors(WRITING))
    links = set(re.findall(r"\]\(#([^)]+)\)", WRITING))
    assert links <= anchors(WRITING), sorted(links - anchors(WRITING))


@pytest.mark.parametrize("page", [WRITING, HOOKS], ids=["writing.md", "plugin-hooks.md"])
def test_both_pages_give_the_factory_the_same_signature_and_say_to_set_spec(page):
    assert "factory(name, settings, secrets)" in page
    assert "(name, settings, SPEC)" not in page
    assert "self.spec" in page


def test_plugin_hooks_points_to_writing_for_the_contract():
    assert "connectors/writing.md" in HOOKS
    for switch in ("UNPAID_TRACE_PLUGINS=1", "UNPAID_PLUGINS_STRICT=1", "UNPAID_LOAD_PLUGINS", "UNPAID_BLOCK_PLUGINS"):
        assert switch in HOOKS and switch in WRITING


def test_the_guide_installs_from_paths_that_exist_and_from_make_dist():
    guide = (DOCS / "guide.md").read_text(encoding="utf-8")
    root = DOCS.parent
    block = re.search(r"## Install\n.*?```sh\n(.*?)```", guide, re.S)[1]
    for path in re.findall(r"(?<![\w/])\./([\w/]*)", block):
        assert (root / path).exists(), path
    assert "pip install unpaid unpaid-csv" not in guide and "uv tool install unpaid " not in guide
    wheels = re.findall(r"dist/(\S+\.whl)", block)
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    assert "\ndist: " in makefile and wheels
    for wheel in wheels:  # the names `make dist` gives the wheels it builds
        project = wheel.split("-")[0].replace("_", "-")
        assert project == "unpaid" or (root / "plugins" / project.removeprefix("unpaid-") / "pyproject.toml").exists()
