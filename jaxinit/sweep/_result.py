"""SweepResult: the sweep's arrays with named coordinates, verdicts, tables, files and plots."""

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np
from flax import struct

VERDICTS = ("stable", "exploding", "vanishing", "collapsed", "non-finite")
EXPLODE_LOG10 = 2.0  # a forward or gradient ratio above 100x is exploding
VANISH_LOG10 = -2.0  # below 1/100 is vanishing
COLLAPSE_TOL = 1e-3  # 1 - correlation, or spread across units, below this is collapsed
_LOG10 = math.log(10.0)


@struct.dataclass
class SweepResult:
  """Per-layer signal statistics of a sweep, with named coordinates.

  Every metric array has shape ``(scheme, activation, width, seed, layer)``; layer
  ``l`` (0-based) is the output of layer ``l + 1``, for ``l < max(depths)``. A network of
  depth ``D`` is the prefix of layers ``1..D``.

  Attributes:
    log_q: log of the second moment of pre-activations ``h^l`` (of the residual stream for
      ``"resnet"``), over batch and units.
    log_m: ``log(M_l / M_0)``, ``M_l = mean(x_l^2)`` over batch and units: the forward ratio.
    log_grad: log second moment of the forward-mode tangent of ``h^l`` for a random
      N(0, I) input tangent. ``log_grad[D-1] - log_grad[0]`` estimates the log ratio of
      the gradient second moment at layer 1 to that at layer D in a depth-D network.
    corr: mean cosine similarity of ``h^l`` between paired inputs (c).
    dead: fraction of (unit, input) pairs where ``phi'(h) = 0`` (about 1/2 for ReLU).
    spread: variance across units over second moment: 0 when every unit is identical.
    finite: whether every value of layer l (its pre-activations, outputs and their tangents) was finite
      in float32.
    log_norm0: ``log(M_l / M_0)`` of the batch's first input alone (THEORY.md 3).
    scheme_engines: per (scheme, width), ``"dense"`` (every weight drawn) or ``"gaussian"``
      (``X W`` sampled from its law); :attr:`engines` sums them up per width.
  """
  log_q: jax.Array
  log_m: jax.Array
  log_grad: jax.Array
  corr: jax.Array
  dead: jax.Array
  spread: jax.Array
  finite: jax.Array
  log_norm0: jax.Array
  schemes: tuple[str, ...] = struct.field(pytree_node=False)
  activations: tuple[str, ...] = struct.field(pytree_node=False)
  widths: tuple[int, ...] = struct.field(pytree_node=False)
  depths: tuple[int, ...] = struct.field(pytree_node=False)
  seeds: int = struct.field(pytree_node=False)
  batch: int = struct.field(pytree_node=False)
  bias_std: float = struct.field(pytree_node=False)
  architecture: str = struct.field(pytree_node=False)
  scheme_engines: tuple[tuple[str, ...], ...] = struct.field(pytree_node=False)
  branch_scale: float = struct.field(pytree_node=False)
  input_correlation: float = struct.field(pytree_node=False)
  sigma_w2: tuple[tuple[float, ...], ...] = struct.field(pytree_node=False)
  activation_params: tuple = struct.field(pytree_node=False)
  activation_fns: tuple[Callable, ...] = struct.field(pytree_node=False)
  interrupted: bool = struct.field(pytree_node=False, default=False)

  @property
  def engines(self) -> tuple[str, ...]:
    """Per width: ``"dense"``, ``"gaussian"`` (every scheme so) or ``"mixed"``."""
    per_width = zip(*self.scheme_engines, strict=True)
    return tuple(e[0] if len(set(e)) == 1 else "mixed" for e in map(tuple, per_width))

  # ------------------------------------------------------------------ derived ratios

  def _at_depths(self, arr: np.ndarray) -> np.ndarray:
    return arr[..., [d - 1 for d in self.depths]]

  def forward_log10(self) -> np.ndarray:
    """log10(M_D / M_0) at each reported depth, seed-averaged: shape (scheme, activation, width, depth)."""
    return self._at_depths(np.asarray(self.log_m)).mean(axis=3) / _LOG10

  def gradient_log10(self) -> np.ndarray:
    """log10 of the gradient ratio (layer 1 over layer D) at each depth, seed-averaged."""
    g = np.asarray(self.log_grad)
    with np.errstate(invalid="ignore"):
      ratio = g - g[..., :1]
    return self._at_depths(ratio).mean(axis=3) / _LOG10

  def verdict(self) -> np.ndarray:
    """One verdict per (scheme, activation, width, depth), from seed-averaged statistics.

    In order of precedence, for the network of depth D:

    * ``"non-finite"``: some seed produced an inf or nan at a layer <= D;
    * ``"collapsed"``: at layer D the units are identical (``spread < 1e-3``: the symmetry
      problem) or the paired inputs are (``1 - corr < 1e-3``: the ordered phase);
    * ``"exploding"``: the forward ratio M_D / M_0 or the gradient ratio exceeds 100;
    * ``"vanishing"``: either falls below 1/100;
    * ``"stable"``: otherwise.

    Returns:
      A string array of shape ``(scheme, activation, width, depth)``.
    """
    finite = np.asarray(self.finite)
    all_finite = self._at_depths(np.cumprod(finite, axis=-1).astype(bool)).all(axis=3)
    spread = self._at_depths(np.asarray(self.spread)).mean(axis=3)
    corr = self._at_depths(np.asarray(self.corr)).mean(axis=3)
    with np.errstate(invalid="ignore"):
      fwd, grad = self.forward_log10(), self.gradient_log10()
      collapsed = (spread < COLLAPSE_TOL) | (1.0 - corr < COLLAPSE_TOL)
      exploding = (fwd > EXPLODE_LOG10) | (grad > EXPLODE_LOG10)
      vanishing = (fwd < VANISH_LOG10) | (grad < VANISH_LOG10)
    out = np.full(fwd.shape, "stable", dtype=object)
    out[vanishing] = "vanishing"
    out[exploding] = "exploding"
    out[(np.isnan(fwd) | np.isnan(grad)) & ~collapsed] = "non-finite"
    out[collapsed] = "collapsed"
    out[~all_finite] = "non-finite"
    return out.astype(str)

  def stable_depth(self) -> np.ndarray:
    """Deepest reported depth up to which every depth is stable (0 if none): (scheme, activation, width)."""
    v = self.verdict() == "stable"
    ok = np.cumprod(v, axis=-1).astype(bool)
    depths = np.asarray(self.depths)
    return np.where(ok.any(axis=-1), np.max(np.where(ok, depths, 0), axis=-1), 0)

  # ------------------------------------------------------------------ tables and files

  def rows(self) -> list[dict]:
    """One dict per (scheme, activation, width, depth) with every metric (seed mean and std) and the verdict."""
    verdict, fwd, grad = self.verdict(), self.forward_log10(), self.gradient_log10()
    arrays = {m: self._at_depths(np.asarray(getattr(self, m), dtype=np.float64))
              for m in ("log_q", "log_m", "log_grad", "corr", "dead", "spread", "log_norm0")}
    finite = self._at_depths(np.cumprod(np.asarray(self.finite), axis=-1)).mean(axis=3)
    with np.errstate(invalid="ignore"):  # -inf logs (zero init) have no std
      means = {m: a.mean(axis=3) for m, a in arrays.items()}
      stds = {m: a.std(axis=3) for m, a in arrays.items()}
    out = []
    for idx in np.ndindex(verdict.shape):
      i, j, k, d = idx
      row = {"scheme": self.schemes[i], "activation": self.activations[j], "width": self.widths[k],
             "depth": self.depths[d], "engine": self.scheme_engines[i][k], "sigma_w2": self.sigma_w2[i][k],
             "verdict": str(verdict[idx]), "forward_log10": _num(fwd[idx]),
             "gradient_log10": _num(grad[idx]), "finite_fraction": _num(finite[idx])}
      for m in arrays:
        row[f"{m}_mean"] = _num(means[m][idx])
        row[f"{m}_std"] = _num(stds[m][idx])
      out.append(row)
    return out

  def parameters(self) -> dict:
    return {"schemes": list(self.schemes), "activations": list(self.activations), "widths": list(self.widths),
            "depths": list(self.depths), "seeds": self.seeds, "batch": self.batch, "bias_std": self.bias_std,
            "architecture": self.architecture, "engines": list(self.engines),
            "scheme_engines": {s: list(e) for s, e in zip(self.schemes, self.scheme_engines, strict=True)},
            "branch_scale": self.branch_scale, "input_correlation": self.input_correlation,
            "interrupted": self.interrupted}

  def to_json(self, path) -> Path:
    """Writes parameters, thresholds and one record per configuration to ``path``."""
    path = Path(path)
    doc = {"parameters": self.parameters(),
           "thresholds": {"explode_log10": EXPLODE_LOG10, "vanish_log10": VANISH_LOG10,
                          "collapse_tol": COLLAPSE_TOL},
           "configurations": self.rows()}
    path.write_text(json.dumps(doc, indent=1, allow_nan=False))
    return path

  def to_csv(self, path) -> Path:
    """Writes one CSV row per (scheme, activation, width, depth) with every metric."""
    path = Path(path)
    rows = self.rows()
    with path.open("w", newline="") as f:
      writer = csv.DictWriter(f, fieldnames=list(rows[0]))
      writer.writeheader()
      writer.writerows(rows)
    return path

  def summary(self, console=None):
    """Prints (and returns) a rich table: verdict counts and deepest stable depth per width."""
    from rich.console import Console
    from rich.table import Table

    verdict, stable = self.verdict(), self.stable_depth()
    table = Table(title=f"jaxinit sweep: {self.architecture}, depths {self.depths[0]}..{self.depths[-1]}, "
                  f"batch {self.batch}, {self.seeds} seeds, bias std {self.bias_std:g}")
    table.add_column("scheme", no_wrap=True, style="bold")
    table.add_column("activation", no_wrap=True)
    for v in VERDICTS:
      table.add_column(v, justify="right")
    for w in self.widths:
      table.add_column(f"N={w}", justify="right")
    for i, s in enumerate(self.schemes):
      for j, a in enumerate(self.activations):
        counts = [int((verdict[i, j] == v).sum()) for v in VERDICTS]
        cells = [_stable_cell(int(stable[i, j, k]), self.depths[-1]) for k in range(len(self.widths))]
        table.add_row(s, a, *[str(c) if c else "." for c in counts], *cells)
    (console or Console()).print(table)
    return table

  def theory(self):
    """The mean-field curves for the same configurations (see :mod:`jaxinit.theory`)."""
    from jaxinit.theory._curves import theory_curves
    return theory_curves(self)

  def plot(self, path, metric: str = "forward") -> Path:
    """Writes heatmaps of log10 of the forward (or ``"gradient"``) ratio over depth x width.

    One panel per scheme x activation; the stable region is outlined.
    """
    from jaxinit.report._plots import heatmaps
    return heatmaps(self, Path(path), metric)


def _num(x):
  x = float(x)
  return x if math.isfinite(x) else None


def _stable_cell(depth: int, max_depth: int) -> str:
  if depth == 0:
    return "-"
  return f"{depth}" if depth < max_depth else f"{depth}+"


