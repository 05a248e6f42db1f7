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

