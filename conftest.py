"""Doctests run over jaxinit/ too; the module entry point and the subprocess scripts of the tests are not collected."""

collect_ignore = ["jaxinit/__main__.py"]
collect_ignore_glob = ["tests/*/scripts/*"]
