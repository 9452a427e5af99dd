"""`jaxinit gains`: PyTorch's gain, the exact variance-preserving gain and the edge of chaos."""

import json
import math

from rich.console import Console
from rich.table import Table

from jaxinit.cli import _common
from jaxinit.core import _activations

NAME = "gains"
HELP = "PyTorch's gain, the exact gain and the edge of chaos per activation"
# the activations `jaxinit gains` lists: the registry without its aliases (linear, swish)
ACTIVATIONS = ("identity", "relu", "leaky_relu", "elu", "selu", "gelu", "gelu_exact", "silu", "softplus",
               "mish", "tanh", "erf", "sigmoid")


def add_arguments(p) -> None:
  p.add_argument("--activations", default=None, help="comma-separated (default: every named activation)")
  _common.add_format(p)
  _common.add_no_cache(p)


_ADVICE = {
    "identity": "lecun_normal; orthogonal() for exact isometry",
    "relu": 'he_normal = for_activation("relu")',
    "leaky_relu": 'for_activation("leaky_relu", param=slope)',
    "elu": 'for_activation("elu")',
    "selu": "lecun_normal (self-normalizing fixed point)",
    "tanh": 'for_activation("tanh"); orthogonal() at the edge of chaos for depth',
    "erf": 'for_activation("erf"); orthogonal({edge}) at the edge of chaos for depth',
    "sigmoid": 'for_activation("sigmoid"); better a zero-centred activation',
}
# no stable non-zero fixed point of the length map without biases: no init keeps a deep plain MLP's signal
_NO_DEPTH_STABLE = "shallow: for_activation; deep: no plain-MLP init holds (residual 1/sqrt(depth) or norms): " \
                   "jaxinit recommend"
for _name in _activations.NO_DEPTH_STABLE_INIT:
  _ADVICE[_name] = _NO_DEPTH_STABLE


def run(args, console: Console) -> int:
  names = (ACTIVATIONS if args.activations is None
           else _common.parse_activation_names(args.activations, "--activations"))
  _common.configure_cache(not args.no_cache, Console(stderr=True))
  import jaxinit
  from jaxinit import theory

  rows = []
  for name in names:
    torch_name = "linear" if name == "identity" else name
    try:
      torch_gain = jaxinit.calculate_gain(torch_name)
    except ValueError:
      torch_gain = None
    edge = float(theory.edge_of_chaos(name, 0.0).sigma_w2)
    edge_w = math.sqrt(edge) if math.isfinite(edge) else None
    advice = _ADVICE.get(name, f'for_activation("{name}")')
    rows.append(dict(activation=name, torch_gain=torch_gain, gain=jaxinit.gain(name), edge_sigma_w=edge_w,
                     use=advice.format(edge=f"{edge_w:.3f}" if edge_w else "")))
  if args.format == "json":
    print(json.dumps(rows, indent=1))
    return 0
  table = Table(title="gains: PyTorch's table, the exact variance-preserving gain, the edge of chaos")
  table.add_column("activation", style="bold", no_wrap=True)
  table.add_column("torch calculate_gain", justify="right")
  table.add_column("exact gain 1/sqrt(E[phi(z)^2])", justify="right")
  table.add_column("edge-of-chaos sigma_w (sigma_b = 0)", justify="right")
  table.add_column("use")
  for r in rows:
    torch_gain = "-" if r["torch_gain"] is None else f"{r['torch_gain']:.4f}"
    table.add_row(r["activation"], torch_gain, f"{r['gain']:.4f}",
                  "-" if r["edge_sigma_w"] is None else f"{r['edge_sigma_w']:.4f}", r["use"])
  console.print(table)
  return 0
