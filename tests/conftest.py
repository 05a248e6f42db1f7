import os

import pytest

pytest_plugins = ["unpaid.testing.fixtures"]


@pytest.fixture(autouse=True)
def _isolated_plugins(monkeypatch):
    """Core tests load no installed plugin unless a test asks for one; each starts from a fresh manager."""
    from unpaid import plugins

    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "")
    plugins.set_plugins(None)
    yield
    plugins.set_plugins(None)


@pytest.fixture(autouse=True)
def _english_unless_asked(monkeypatch):
    """The language comes from the machine's locale when nothing sets it: tests pin English, so a run on a
    Russian desktop reads the same letters as CI; a test about languages sets its own."""
    monkeypatch.setenv("UNPAID_LANG", "en")
    from unpaid.i18n import speaking

    with speaking("en"):  # a command run in a test leaves its language active: the next test starts in English
        yield
