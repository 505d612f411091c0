pytest_plugins = ["eoc_shared.testing.fixtures"]
