"""Doctests run over jaxinit/ too; the module entry point and the subprocess scripts of the tests are not collected.

The doctests of the rooms that compile whole programs (a sweep, training, a diagnosis, the test assertions)
carry the ``slow`` marker, like the tests that do the same: ``pytest -m "not slow"`` leaves them out.
"""

import pytest

collect_ignore = ["jaxinit/__main__.py"]
collect_ignore_glob = ["tests/*/scripts/*"]
_SLOW_DOCTESTS = ("jaxinit/sweep/", "jaxinit/training/", "jaxinit/diagnosis/", "jaxinit/mup/", "jaxinit/advice/",
                  "jaxinit/testing.py")


def pytest_collection_modifyitems(config, items):
  for item in items:
    if isinstance(item, pytest.DoctestItem) and item.nodeid.startswith(_SLOW_DOCTESTS):
      item.add_marker(pytest.mark.slow)
