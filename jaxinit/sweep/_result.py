"""SweepResult: the sweep's arrays with named coordinates, its configuration, and its verdicts.

Tables, files and plots are the report layer's (`jaxinit.report`); the methods here that
render are thin conveniences that import it when called.
"""

import functools
import math
from pathlib import Path

import jax
import numpy as np
from flax import struct

from jaxinit.sweep._config import SweepConfig

METRICS = ("log_q", "log_m", "log_grad", "corr", "dead", "spread", "finite", "log_norm0")
VERDICTS = ("stable", "exploding", "vanishing", "collapsed", "non-finite")
EXPLODE_LOG10 = 2.0  # a forward or gradient ratio above 100x is exploding
VANISH_LOG10 = -2.0  # below 1/100 is vanishing
COLLAPSE_TOL = 1e-3  # 1 - correlation, or spread across units, below this is collapsed
_LOG10 = math.log(10.0)


def _frozen(a: np.ndarray) -> np.ndarray:
  a.flags.writeable = False
  return a


@struct.dataclass
class SweepResult:
  """Per-layer signal statistics of a sweep, with named coordinates, and their verdicts.

  Every metric array has shape ``(scheme, activation, width, seed, layer)``; layer
  ``l`` (0-based) is the output of layer ``l + 1``, for ``l < max(depths)``. A network of
  depth ``D`` is the prefix of layers ``1..D``. The options of the run are ``config``;
  ``schemes``, ``activations``, ``depths``, ``seeds``, ``batch``, ``bias_std``,
  ``architecture``, ``branch_scale``, ``input_correlation``, ``activation_params`` and
  ``activation_fns`` read it, and ``widths`` are the widths that finished.

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
    log_norm0: ``log(M_l / M_0)`` of the batch's first input alone (Hanin & Nica, Products of
      Many Large Random Matrices and Gradients in Deep Neural Networks, 2019).
    config: the :class:`SweepConfig` that ran.
    scheme_engines: per (scheme, width), ``"dense"`` (every weight drawn) or ``"gaussian"``
      (``X W`` sampled from its law); :attr:`engines` sums them up per width.
    sigma_w2: per (scheme, width), ``fan_in x Var(W)``: known from the scheme, or measured
      on its draws (nan or inf when they were).
    interrupted: whether the run stopped early, keeping the widths that finished.
  """
  log_q: jax.Array
  log_m: jax.Array
  log_grad: jax.Array
  corr: jax.Array
  dead: jax.Array
  spread: jax.Array
  finite: jax.Array
  log_norm0: jax.Array
  config: SweepConfig = struct.field(pytree_node=False)
  scheme_engines: tuple[tuple[str, ...], ...] = struct.field(pytree_node=False)
  sigma_w2: tuple[tuple[float, ...], ...] = struct.field(pytree_node=False)
  interrupted: bool = struct.field(pytree_node=False, default=False)

  # ------------------------------------------------------------------ the configuration, read-only

  schemes = property(lambda self: self.config.scheme_labels, doc="The scheme labels.")
  activations = property(lambda self: self.config.activation_labels, doc="The activation labels.")
  depths = property(lambda self: self.config.depths, doc="The reported depths, sorted.")
  seeds = property(lambda self: self.config.seeds, doc="Networks per configuration.")
  batch = property(lambda self: self.config.batch, doc="Inputs per network.")
  bias_std = property(lambda self: self.config.bias_std,
                      doc="Std of the biases of schemes with none of their own.")
  bias_stds = property(lambda self: self.config.bias_stds, doc="Per scheme, the std of its biases.")
  architecture = property(lambda self: self.config.architecture, doc='"mlp" or "resnet".')
  branch_scale = property(lambda self: self.config.branch_scale, doc="The residual branch multiplier.")
  input_correlation = property(lambda self: self.config.input_correlation,
                               doc="Correlation of paired inputs.")
  activation_params = property(lambda self: tuple(a.param for a in self.config.activations),
                               doc="Each activation's parameter (a leaky ReLU's slope), or None.")
  activation_fns = property(lambda self: tuple(a.fn for a in self.config.activations),
                            doc="Each activation's function.")

  @property
  def widths(self) -> tuple[int, ...]:
    """The widths that ran: ``config.widths``, or its first ones when interrupted."""
    return self.config.widths[:len(self.scheme_engines[0])]

  @property
  def engines(self) -> tuple[str, ...]:
    """Per width: ``"dense"``, ``"gaussian"`` (every scheme so) or ``"mixed"``."""
    per_width = zip(*self.scheme_engines, strict=True)
    return tuple(e[0] if len(set(e)) == 1 else "mixed" for e in map(tuple, per_width))

  # ------------------------------------------------------------------ ratios and verdicts, computed once

  def _at_depths(self, arr: np.ndarray) -> np.ndarray:
    return arr[..., [d - 1 for d in self.depths]]

  @functools.cached_property
  def _forward_log10(self) -> np.ndarray:
    return _frozen(self._at_depths(np.asarray(self.log_m)).mean(axis=3) / _LOG10)

  @functools.cached_property
  def _gradient_log10(self) -> np.ndarray:
    g = np.asarray(self.log_grad)
    with np.errstate(invalid="ignore"):
      ratio = g - g[..., :1]
    return _frozen(self._at_depths(ratio).mean(axis=3) / _LOG10)

  def forward_log10(self) -> np.ndarray:
    """log10(M_D / M_0) at each reported depth, seed-averaged: shape (scheme, activation, width, depth)."""
    return self._forward_log10

  def gradient_log10(self) -> np.ndarray:
    """log10 of the gradient ratio (layer 1 over layer D) at each depth, seed-averaged."""
    return self._gradient_log10

  @functools.cached_property
  def _verdicts(self) -> np.ndarray:
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
    return _frozen(out.astype(str))

  def verdict(self) -> np.ndarray:
    """One verdict per (scheme, activation, width, depth), from seed-averaged statistics.

    In order of precedence, for the network of depth D:

    * ``"non-finite"``: some seed produced an inf or nan at a layer <= D;
    * ``"collapsed"``: at layer D the units are identical (``spread < 1e-3``: the symmetry
      problem) or the paired inputs are (``1 - corr < 1e-3``: the ordered phase);
    * ``"exploding"``: the forward ratio M_D / M_0 or the gradient ratio exceeds 100;
    * ``"vanishing"``: either falls below 1/100;
    * ``"stable"``: otherwise.

    Computed once per result; the array is read-only.

    Returns:
      A string array of shape ``(scheme, activation, width, depth)``.
    """
    return self._verdicts

  @functools.cached_property
  def _stable_depth(self) -> np.ndarray:
    ok = np.cumprod(self.verdict() == "stable", axis=-1).astype(bool)
    depths = np.asarray(self.depths)
    return _frozen(np.where(ok.any(axis=-1), np.max(np.where(ok, depths, 0), axis=-1), 0))

  def stable_depth(self) -> np.ndarray:
    """Deepest reported depth up to which every depth is stable (0 if none): (scheme, activation, width)."""
    return self._stable_depth

  # ------------------------------------------------------------------ conveniences over jaxinit.report

  def rows(self) -> list[dict]:
    """One dict per (scheme, activation, width, depth): see :func:`jaxinit.report.rows`."""
    from jaxinit.report import _tables
    return _tables.rows(self)

  def parameters(self) -> dict:
    """The run's options as JSON values: see :func:`jaxinit.report.parameters`."""
    from jaxinit.report import _tables
    return _tables.parameters(self)

  def to_json(self, path) -> Path:
    """Writes parameters, thresholds and one record per configuration: :func:`jaxinit.report.write_json`."""
    from jaxinit.report import _data
    return _data.write_json(self, path)

  def to_csv(self, path) -> Path:
    """Writes one CSV row per (scheme, activation, width, depth): :func:`jaxinit.report.write_csv`."""
    from jaxinit.report import _data
    return _data.write_csv(self, path)

  def summary(self) -> str:
    """The summary table (verdict counts, deepest stable depth per width) as text; prints nothing.

    ``print(result.summary())`` shows it; :func:`jaxinit.report.summary_table` gives the rich table.
    """
    from jaxinit.report import _tables
    return _tables.render(_tables.summary_table(self))

  def theory(self):
    """The mean-field curves for the same configurations (see :mod:`jaxinit.theory`)."""
    from jaxinit.theory._curves import theory_curves
    return theory_curves(self)

  def plot(self, path, metric: str = "forward") -> Path:
    """Writes heatmaps of log10 of the forward (or ``"gradient"``) ratio: :func:`jaxinit.report.heatmaps`."""
    from jaxinit.report import _plots
    return _plots.heatmaps(self, path, metric)
