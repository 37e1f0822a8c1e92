"""The patch tests change the deployed release: they run after every other test of the lab."""


def pytest_configure(config):
    config.addinivalue_line("markers", "patch: changes the deployed release (runs last)")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("patch") is not None)
