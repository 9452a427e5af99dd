"""Doctests run over jaxinit/ too; the module entry point exits and is not collected."""

collect_ignore = ["jaxinit/__main__.py"]
