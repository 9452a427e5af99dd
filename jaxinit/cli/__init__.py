"""The ``jaxinit`` command line: one module per command, dispatched by ``main``."""

from jaxinit.cli._common import CliError as CliError
from jaxinit.cli._main import COMMANDS as COMMANDS
from jaxinit.cli._main import main as main
from jaxinit.cli._main import main_entry as main_entry
from jaxinit.cli._sweep import default_sweep_config as default_sweep_config
