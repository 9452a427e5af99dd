"""The `jaxinit` command line."""

import argparse
import sys

from rich.console import Console
from rich.table import Table

from jaxinit import _catalog


class CliError(Exception):
  """Bad input: printed as one line, exit status 2."""


def _cmd_schemes(args, console: Console) -> int:
  if args.format == "json":
    import json
    rows = [{"name": s.name, "distribution": s.distribution, "variance": s.variance,
             "aliases": list(s.aliases)} for s in _catalog.SCHEMES]
    console.print_json(json.dumps(rows))
    return 0
  table = Table(title="jaxinit schemes: Var(W) per entry")
  table.add_column("name", no_wrap=True, style="bold")
  table.add_column("distribution")
  table.add_column("variance")
  table.add_column("aliases", no_wrap=True)
  for s in _catalog.SCHEMES:
    table.add_row(s.name, s.distribution, s.variance, ", ".join(s.aliases))
  console.print(table)
  return 0


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog="jaxinit", description="Check weight initialization schemes.")
  sub = parser.add_subparsers(dest="command", required=True)
  p = sub.add_parser("schemes", help="every initializer with its variance formula")
  p.add_argument("--format", choices=("table", "json"), default="table")
  p.set_defaults(run=_cmd_schemes)
  return parser




def main(argv: list[str] | None = None) -> int:
  """Runs the command line; returns the exit status (0 ok, 2 bad input)."""
  parser = _parser()
  console = Console()
  try:
    args = parser.parse_args(argv)
  except SystemExit as e:  # argparse already printed its one-line usage error
    return int(e.code or 0)
  try:
    return args.run(args, console)
  except CliError as e:
    print(f"jaxinit: error: {e}", file=sys.stderr)
    return 2


def main_entry() -> None:
  """Console-script entry point."""
  sys.exit(main())
