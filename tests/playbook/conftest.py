from tests.playbook.shop import shop  # noqa: F401 - the fixture, shared by the playbook tests
