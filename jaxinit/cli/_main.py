"""The `jaxinit` command line: a dispatcher over command modules.

A command module defines ``NAME: str``, ``HELP: str``, ``add_arguments(parser) -> None`` and
``run(args, console) -> int`` (``console``: a rich Console on stdout), and may define
``DESCRIPTION``. Every option is checked before anything compiles; bad input (a
``ValueError`` from ``run``, such as :class:`CliError`) and a file that cannot be written
(an ``OSError``) are one line on stderr, ``jaxinit: error: ...``, and exit status 2.
"""

import argparse
import gc
import os
import sys

from jaxinit.cli import _common, _diagnose, _gains, _recommend, _schemes, _sweep, _theory, _train

COMMANDS = (_sweep, _theory, _gains, _schemes, _recommend, _diagnose, _train)


class _Parser(argparse.ArgumentParser):
  """argparse whose usage errors are one line, like every other error of the command line."""

  def error(self, message):
    print(f"jaxinit: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def parser(commands=None) -> argparse.ArgumentParser:
  """The argument parser: one sub-command per command module (default: ``COMMANDS``)."""
  commands = COMMANDS if commands is None else commands
  from jaxinit import __version__

  top = _Parser(prog="jaxinit", description="Check weight initialization schemes.")
  top.add_argument("--version", action="version", version=f"jaxinit {__version__}")
  sub = top.add_subparsers(dest="command", metavar="COMMAND")
  for command in commands:
    p = sub.add_parser(command.NAME, help=command.HELP, description=getattr(command, "DESCRIPTION", None))
    command.add_arguments(p)
    p.set_defaults(run=command.run)
  return top


def _error(message: str) -> int:
  print(f"jaxinit: error: {message}", file=sys.stderr)
  return 2


def _os_error(e: OSError) -> str:
  where = f"cannot write {e.filename}: " if e.filename else ""
  return f"{where}{e.strerror or e}"


def main(argv: list[str] | None = None) -> int:
  """Runs the command line; returns the exit status: 0 ok, 2 bad input or unwritable file, 130 interrupted."""
  console = _common.stdout_console()
  top = parser()
  try:
    args = top.parse_args(argv)
  except SystemExit as e:  # --help, --version (0) or a usage error, already printed on one line (2)
    return int(e.code or 0)
  if args.command is None:  # a bare `jaxinit`: say what it can do
    top.print_help(sys.stderr)
    return 2
  try:
    return args.run(args, console)
  except ValueError as e:
    return _error(str(e))
  except KeyboardInterrupt:
    print("jaxinit: interrupted", file=sys.stderr)
    return _common.EXIT_INTERRUPTED
  except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0
  except OSError as e:
    return _error(_os_error(e))


def main_entry() -> None:
  """Console-script entry point."""
  code = main()
  # the process ends now: spare it the final collection of every object jax made (half a second)
  gc.freeze()
  sys.exit(code)
