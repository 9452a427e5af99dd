"""`jaxinit theory`: the mean-field phase diagram, chi_1 and the depth scales against sigma_w^2."""

import json
import math

from rich.console import Console
from rich.table import Table

from jaxinit.cli import _common
from jaxinit.core import _activations

NAME = "theory"
HELP = "mean-field phase diagram: chi_1 and xi_c against sigma_w^2"


def add_arguments(p) -> None:
  p.add_argument("--activation", default="tanh", help="activation name (default %(default)s)")
  p.add_argument("--param", default=None, help="negative slope for leaky_relu")
  p.add_argument("--sigma-b2", default="0.05", help="bias variance (default %(default)s)")
  p.add_argument("--sigma-w2", default="1:4",
                 help="range 1:4 (--points values), 1:4:0.1, or a list (default %(default)s)")
  p.add_argument("--points", default="61", help="points for a START:STOP range (default %(default)s)")
  p.add_argument("--rows", default="13", help="rows shown in the table (default %(default)s)")
  p.add_argument("--out", default=_common.DEFAULT_OUT,
                 help="folder for theory_<activation>.png (default ./%(default)s)")
  _common.add_format(p)
  _common.add_no_cache(p)


def run(args, console: Console) -> int:
  import numpy as np

  (activation,) = _common.parse_activation_names(args.activation, "--activation")
  param = None if args.param is None else _common.parse_float(args.param, "--param")
  sigma_b2 = _common.parse_float(args.sigma_b2, "--sigma-b2", 0.0)
  points = _common.parse_int(args.points, "--points", 2)
  grid = np.asarray(_common.parse_float_grid(args.sigma_w2, "--sigma-w2", points))
  rows_shown = _common.parse_int(args.rows, "--rows", 1)
  _activations.resolve(activation, param, where="--activation")
  out = _common.out_dir(args.out)
  _common.configure_cache(not args.no_cache, Console(stderr=True))
  from jaxinit import theory
  from jaxinit.report import _plots

  # c* (a 2-D quadrature per point) dominates: the table needs q* and c* only on the rows it shows
  picks = sorted(set(np.linspace(0, len(grid) - 1, min(rows_shown, len(grid))).round().astype(int).tolist()))
  at = np.arange(len(grid)) if args.format == "json" else np.asarray(picks)
  chi = np.asarray(theory.chi1(activation, grid, sigma_b2, param=param), dtype=float)
  scales = theory.depth_scales(activation, grid, sigma_b2, param=param)
  xi_q, xi_c = (np.asarray(a, dtype=float) for a in scales)
  slope = np.asarray(theory.length_map_slope(activation, grid, sigma_b2, param=param), dtype=float)
  edge = theory.edge_of_chaos(activation, sigma_b2, param=param)
  fixed = theory.fixed_point(activation, grid[at], sigma_b2, param=param)
  q_star, c_star = np.full(len(grid), np.nan), np.full(len(grid), np.nan)
  q_star[at], c_star[at] = (np.asarray(a, dtype=float) for a in fixed)
  edge_w2, edge_q = float(edge.sigma_w2), float(edge.q_star)
  figure = _plots.phase_diagram(grid, chi, xi_c, edge_w2, out / f"theory_{activation}.png",
                                activation=activation, sigma_b2=sigma_b2)
  rows = [dict(sigma_w2=float(w), q_star=float(q), c_star=float(c), chi1=float(x), xi_q=float(a),
               xi_c=float(b), trainable_depth=float(6 * b), q_slope=float(g), phase=_phase(q, g, x))
          for w, q, c, x, a, b, g in zip(grid, q_star, c_star, chi, xi_q, xi_c, slope, strict=True)]
  if args.format == "json":
    doc = {"activation": activation, "param": param, "sigma_b2": sigma_b2,
           "edge_of_chaos": {"sigma_w2": _finite(edge_w2), "q_star": _finite(edge_q)},
           "rows": [{k: _finite(v) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
           "figure": str(figure)}
    print(json.dumps(doc, indent=1))
    return 0
  table = _table(theory, activation, param, sigma_b2, grid, picks, rows, edge_w2, edge_q)
  console.print(table)
  where = (f"sigma_w^2 = {edge_w2:.4f} (q* = {edge_q:.4g})" if math.isfinite(edge_w2) else
           "none reached from q = 1 (no variance-scaling init keeps this activation's signal length at this bias)")
  console.print(f"edge of chaos: {where}; wrote {figure}", soft_wrap=True)
  return 0



def _table(theory, activation, param, sigma_b2, grid, picks, rows, edge_w2, edge_q) -> Table:
  """The rows shown, with the edge of chaos as a row of its own unless it is a grid point."""
  import numpy as np

  table = Table(title=f"{activation} at sigma_b^2 = {sigma_b2:g}: trainable while depth < 6 xi_c")
  for name in ("sigma_w^2", "q*", "dq'/dq at q*", "c*", "chi_1", "xi_q", "xi_c", "6 xi_c", "phase"):
    table.add_column(name, justify="right" if name != "phase" else "left", no_wrap=True)
  on_grid = math.isfinite(edge_w2) and bool(np.any(np.isclose(grid[picks], edge_w2, rtol=1e-9, atol=0)))
  edge_row_at = int(np.searchsorted(grid, edge_w2)) if math.isfinite(edge_w2) and not on_grid else -1
  edge_shown = False
  for i in picks:
    if not edge_shown and 0 <= edge_row_at <= i and grid[0] <= edge_w2 <= grid[-1]:
      at_edge = theory.depth_scales(activation, edge_w2, sigma_b2, param=param)
      edge_slope = float(theory.length_map_slope(activation, edge_w2, sigma_b2, param=param))
      table.add_row(f"{edge_w2:.4f}", _fmt(edge_q), _fmt(edge_slope), "1", "1", _fmt(float(at_edge.xi_q)), "inf",
                    "inf", "edge of chaos", style="bold")
      edge_shown = True
    r = rows[i]
    numbers = [_fmt(r[k]) for k in ("q_star", "q_slope", "c_star", "chi1", "xi_q", "xi_c", "trainable_depth")]
    is_edge = on_grid and math.isclose(r["sigma_w2"], edge_w2, rel_tol=1e-9)
    table.add_row(f"{r['sigma_w2']:.4f}", *numbers, "edge of chaos" if is_edge else r["phase"],
                  style="bold" if is_edge else None)
  return table

def _phase(q_star: float, slope: float, chi1: float) -> str:
  """The length map first (does q reach a finite, non-zero q*?), then chi_1 (what correlations do there)."""
  if q_star == math.inf:
    return f"q diverges (x{slope:.3g} a layer)"
  if q_star == 0:
    return "q -> 0 (the signal dies)"
  if slope > 1 + 1e-9:
    return "q* unstable"
  if abs(chi1 - 1.0) < 1e-9:
    return "critical"
  return "ordered" if chi1 < 1 else "chaotic"


def _fmt(x: float) -> str:
  if not math.isfinite(x):
    return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
  return f"{x:.4g}"


def _finite(x):
  return float(x) if x is not None and math.isfinite(x) else None
