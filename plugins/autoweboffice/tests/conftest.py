pytest_plugins = ["unpaid.testing.fixtures"]
