"""The coordinate check: per-layer mean |activation| over the first steps, across widths, SP against muP."""

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxinit.mup import _optim
from jaxinit.mup._roles import infer_roles

PARAMETRIZATIONS = ("standard", "mup")


class CoordCheckResult:
  """Mean |activation| per parametrisation, layer, width and step (before each step's update).

  Attributes:
    widths: the widths, increasing.
    steps: the number of steps recorded.
    layers: the recorded layers: every submodule's output, by path ("" is the model's).
    values: ``{parametrization: array (layers, widths, steps)}``.
  """

  def __init__(self, widths, steps, layers, values):
    self.widths, self.steps, self.layers, self.values = tuple(widths), steps, tuple(layers), values

  def slopes(self, step: int = -1) -> dict[str, dict[str, float]]:
    """The least-squares slope of log mean|activation| against log width, per parametrisation and layer."""
    log_w = np.log(np.asarray(self.widths, float))
    out = {}
    for p, v in self.values.items():
      with np.errstate(divide="ignore"):
        log_v = np.log(v[:, :, step])
      out[p] = {layer: float(np.polyfit(log_w, log_v[i], 1)[0]) if np.all(np.isfinite(log_v[i])) else math.nan
                for i, layer in enumerate(self.layers)}
    return out

  def plot(self, path) -> Path:
    """Writes one panel per parametrisation and step: mean |activation| against width, one line per layer."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    params = list(self.values)
    fig, axes = plt.subplots(len(params), self.steps, figsize=(3.2 * self.steps + 1.5, 2.9 * len(params)),
                             squeeze=False, sharex=True, layout="constrained")
    for r, p in enumerate(params):
      for t in range(self.steps):
        ax = axes[r, t]
        for i, layer in enumerate(self.layers):
          ax.plot(self.widths, self.values[p][i, :, t], marker="o", ms=3, label=layer or "model output")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"{p}, step {t}", fontsize=10)
        ax.grid(alpha=0.3)
        if t == 0:
          ax.set_ylabel("mean |activation|")
        if r == len(params) - 1:
          ax.set_xlabel("width")
    axes[0, -1].legend(fontsize=7, loc="best")
    fig.suptitle("coordinate check: flat in width under muP, growing under the standard parametrisation",
                 fontsize=10)
    from jaxinit.report import save_figure  # at call time: importing jaxinit loads no report code

    try:
      return save_figure(fig, path)
    finally:
      plt.close(fig)


def _check_args(widths, steps, base_width, parametrizations, learning_rate, where):
  try:
    widths = tuple(widths)
  except TypeError:
    raise ValueError(f"{where}: widths={widths!r} must be a sequence of ints") from None
  if len(widths) < 2 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
    raise ValueError(f"{where}: widths={widths!r} must hold at least two ints >= 1")
  if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
    raise ValueError(f"{where}: steps={steps!r} must be an int >= 1")
  if isinstance(base_width, bool) or not isinstance(base_width, int) or base_width < 1:
    raise ValueError(f"{where}: base_width={base_width!r} must be an int >= 1")
  if base_width > min(widths):
    raise ValueError(f"{where}: base_width={base_width} is larger than the width {min(widths)}; "
                     "muP scales from a base width up")
  for p in parametrizations:
    if p not in PARAMETRIZATIONS:
      raise ValueError(f"{where}: parametrizations entry {p!r} must be one of {PARAMETRIZATIONS}")
  if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate) and learning_rate > 0):
    raise ValueError(f"{where}: learning_rate={learning_rate!r} must be a finite number > 0")
  return tuple(sorted(widths))


def _mean_abs(intermediates) -> dict[str, jax.Array]:
  """Path -> mean |output| of every recorded module call (nnx.capture's ``__call__`` entries)."""
  from flax import nnx

  out = {}
  is_variable = lambda x: isinstance(x, nnx.Variable)  # noqa: E731
  leaves = jax.tree_util.tree_flatten_with_path(intermediates, is_leaf=is_variable)[0]
  for path, leaf in leaves:
    names = [str(getattr(e, "key", getattr(e, "name", e))) for e in path]
    value = leaf.get_value() if isinstance(leaf, nnx.Variable) else leaf
    value = value[0] if isinstance(value, tuple) else value
    if names and names[-1] in ("value", "0"):
      names = names[:-1]
    if not names or names[-1] != "__call__":
      continue
    out["/".join(names[:-1])] = jnp.mean(jnp.abs(value))
  return out


def _run_one(model, optimizer, x, y, steps: int, loss_fn: Callable) -> dict[str, np.ndarray]:
  from flax import nnx

  opt = nnx.Optimizer(model, optimizer, wrt=nnx.Param)

  @nnx.jit
  def step(model, opt, x, y):
    """The activations' statistics before the update, then the update: one program per width."""
    _, inter = nnx.capture(model, nnx.Intermediate, method_outputs=nnx.Intermediate)(x)
    grads = nnx.grad(lambda m: loss_fn(m(x), y))(model)
    opt.update(model, grads)
    return _mean_abs(inter)

  rows = [jax.device_get(step(model, opt, x, y)) for _ in range(steps)]
  return {name: np.asarray([r[name] for r in rows], np.float64) for name in rows[0]}


def coord_check(make_model: Callable, widths: Sequence[int], steps: int = 3, *, base_width: int, data,
                optimizer: str = "sgd", learning_rate: float = 0.1,
                parametrizations: Sequence[str] = PARAMETRIZATIONS, path=None) -> CoordCheckResult:
  """Trains each width's model a few steps and records every layer's mean |activation| before each step.

  For each parametrisation and width, ``make_model(width, parametrization)`` builds an
  ``nnx.Module`` (its initializers are the caller's: for ``"mup"`` typically
  :func:`input_init`, :func:`hidden_init` and :func:`output_init`). ``"standard"`` trains
  with ``optax.sgd`` / ``optax.adam``; ``"mup"`` with :func:`jaxinit.mup.sgd` /
  :func:`jaxinit.mup.adam` and the roles :func:`infer_roles` finds against
  ``make_model(base_width, "mup")`` (built abstractly). Every submodule's output is
  recorded through ``nnx.capture`` (no change to the model). Under muP the curves are flat
  in width (log-log slope near 0) at every step; under the standard parametrisation the
  readout's grows after the first update.

  Args:
    make_model: ``(width, parametrization) -> nnx.Module``.
    widths: at least two widths.
    steps: steps recorded (the activations before updates 0..steps-1), >= 1.
    base_width: the width at which both parametrisations agree, <= every width.
    data: ``(x, y)``: the inputs and the targets (float: mean squared error; int labels:
      softmax cross-entropy), one fixed batch.
    optimizer: ``"sgd"`` or ``"adam"``.
    learning_rate: > 0, the same at every width.
    parametrizations: a subset of ``("standard", "mup")``.
    path: if given, the figure (:meth:`CoordCheckResult.plot`) is written there.

  Returns:
    A :class:`CoordCheckResult`.

  Raises:
    ValueError: bad widths, steps, base width (above a width), optimizer or data.

  References:
    Yang et al., Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer, 2022
    (the coordinate check, its Figure 5).
  """
  from flax import nnx

  where = "coord_check"
  widths = _check_args(widths, steps, base_width, tuple(parametrizations), learning_rate, where)
  kind = _optim._check_kind(optimizer, where)
  try:
    x, y = (np.asarray(a) for a in data)
  except (TypeError, ValueError):
    raise ValueError(f"{where}: data must be a pair (x, y) of arrays") from None
  if x.shape[:1] != y.shape[:1] or not np.all(np.isfinite(x)):
    raise ValueError(f"{where}: data x {x.shape} and y {y.shape} must be finite with as many examples")
  classify = np.issubdtype(y.dtype, np.integer)
  x = jnp.asarray(x, jnp.float32)
  y = jnp.asarray(y, jnp.int32 if classify else jnp.float32)

  def loss_fn(out, y):
    if classify:
      return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(out, y))
    return jnp.mean(jnp.square(out - y.reshape(out.shape)))

  values, layers = {}, None
  for p in parametrizations:
    per_width = []
    for width in widths:
      model = make_model(width, p)
      if p == "mup":
        roles = infer_roles(model, nnx.eval_shape(lambda p=p: make_model(base_width, p)))
        tx = (_optim.sgd if kind == "sgd" else _optim.adam)(learning_rate, roles)
      else:
        tx = (optax.sgd if kind == "sgd" else optax.adam)(learning_rate)
      per_width.append(_run_one(model, tx, x, y, steps, loss_fn))
    layers = sorted(per_width[0], key=lambda name: (name == "", name))
    # (layers, widths, steps)
    values[p] = np.stack([np.stack([r[name] for r in per_width]) for name in layers])
  result = CoordCheckResult(widths, steps, layers, values)
  if path is not None:
    result.plot(path)
  return result
