"""`jaxinit schemes`: every named initializer with its distribution and variance formula."""

import json

from rich.console import Console
from rich.table import Table

from jaxinit.cli import _common
from jaxinit.initializers import _catalog

NAME = "schemes"
HELP = "every initializer with its variance formula"


def add_arguments(p) -> None:
  _common.add_format(p)


def run(args, console: Console) -> int:
  if args.format == "json":
    rows = [{"name": s.name, "distribution": s.distribution, "variance": s.variance,
             "aliases": list(s.aliases)} for s in _catalog.SCHEMES]
    rows += [{"name": p.form, "distribution": p.distribution, "variance": p.variance, "aliases": []}
             for p in _catalog.PARAMETRISED.values()]
    console.print_json(json.dumps(rows))
    return 0
  table = Table(title="jaxinit schemes: Var(W) per entry")
  table.add_column("name", no_wrap=True, style="bold")
  table.add_column("distribution")
  table.add_column("variance")
  table.add_column("aliases", no_wrap=True)
  for s in _catalog.SCHEMES:
    table.add_row(s.name, s.distribution, s.variance, ", ".join(s.aliases))
  table.add_section()
  for p in _catalog.PARAMETRISED.values():  # schemes with arguments: `--schemes edge_of_chaos:tanh,0.05`
    table.add_row(p.form, p.distribution, p.variance, "")
  console.print(table)
  return 0
