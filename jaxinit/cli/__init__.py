"""The ``jaxinit`` command line: one module per command."""

from jaxinit.cli._main import main as main
from jaxinit.cli._main import main_entry as main_entry
