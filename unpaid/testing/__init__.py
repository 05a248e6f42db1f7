"""Public test helpers for unpaid and its plugins; never imported by the CLI.

- :mod:`unpaid.testing.contract` — ``ConnectorContract``, the suite every connector passes;
- :mod:`unpaid.testing.build` — ``build_connector``, a connector built as a command builds it;
- :mod:`unpaid.testing.fakes` — ``InMemoryConnector`` and a fake plugin registering it;
- :mod:`unpaid.testing.fixtures` — opt-in pytest fixtures (``pytest_plugins = ["unpaid.testing.fixtures"]``);
- :mod:`unpaid.testing.keyring` — a file/in-memory keyring backend, so tests never touch a real one.
"""
