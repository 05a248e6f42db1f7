from tests.playbook.procs import world  # noqa: F401 - the on-disk shop for runner tests
from tests.playbook.shop import shop  # noqa: F401 - the fixture, shared by the playbook tests
