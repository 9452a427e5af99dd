"""jaxinit.calibrate: layer-sequential unit-variance (LSUV) calibration of a Flax model's kernels on a batch."""

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from flax.core import unfreeze

from jaxinit.diagnosis import _capture, _diagnose, _engine
from jaxinit.initializers import orthogonal as orthogonal_init


class CalibrationStep(NamedTuple):
  """What calibration did to one layer: the factor its kernel was multiplied by, and its output variance."""
  path: str
  scale: float
  variance_before: float
  variance_after: float
  iterations: int
  converged: bool


class Calibration(NamedTuple):
  """The calibrated model (nnx) or variables (linen), and one :class:`CalibrationStep` per layer."""
  model: object
  log: tuple[CalibrationStep, ...]

  @property
  def converged(self) -> bool:
    return all(step.converged for step in self.log)


def _variances(static: _capture.Static, params, others, arrays):
  rec = _capture._Recorder(None)
  _capture._forward(static, params, others, arrays, rec)
  out = {}
  for index, _, y in rec.records:
    if static.calls[index].layout is not None and y is not None:
      out[index] = jnp.var(y.astype(jnp.float32))
  return out


_variances_jit = jax.jit(_variances, static_argnums=(0,))


def _set(tree, key_path, value):
  for key in key_path[:-1]:
    tree = tree[key]
  tree[key_path[-1]] = value


def _orthogonalise(kernel, layout, key):
  """An orthogonal kernel in the layer's layout: orthonormal across its units, gain 1."""
  units_axes = layout.out_axis + layout.batch_axis
  rest = tuple(a for a in range(kernel.ndim) if a not in units_axes)
  moved = jnp.transpose(kernel, rest + units_axes)
  matrix_shape = (math.prod(moved.shape[:len(rest)]), math.prod(moved.shape[len(rest):]))
  matrix = orthogonal_init()(key, matrix_shape, kernel.dtype).reshape(moved.shape)
  return jnp.transpose(matrix, np.argsort(rest + units_axes))


def _targets(calls):
  """The calls to calibrate: each parametrised layer's first call, norm layers excluded."""
  seen, out = set(), []
  for call in calls:
    layout = call.layout
    if layout is None or layout.param is None or layout.note == "normalisation layer":
      continue
    key = (*call.param_key, layout.param)
    if key not in seen:
      seen.add(key)
      out.append((call, key))
  return out


def _check(target, tol, max_iters):
  for name, value in (("target", target), ("tol", tol)):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
      raise ValueError(f"calibrate: {name}={value!r} must be a finite number > 0")
  if isinstance(max_iters, bool) or not isinstance(max_iters, int) or max_iters < 1:
    raise ValueError(f"calibrate: max_iters={max_iters!r} must be an integer >= 1")


def calibrate(model, *args, target: float = 1.0, tol: float = 0.05, max_iters: int = 10,
              orthogonal: bool = False, key: jax.Array | None = None, inplace: bool = False,
              call: Callable | None = None, **kwargs) -> Calibration:
  r"""Rescales each kernel, layer by layer in execution order, so its output variance on a batch is ``target``.

  LSUV: for each parametrised layer (norm layers excepted), measure the variance of its output on the
  batch and multiply its kernel by ``sqrt(target / variance)``, until ``|variance / target - 1| <= tol``
  or ``max_iters`` passes. Layers are done in the order they run, so each sees the calibrated layers
  before it. With ``orthogonal=True`` kernels are first redrawn orthogonal across their units (in the
  layer's own layout), as Mishkin & Matas do.

  Args:
    model: a ``flax.nnx.Module``, or a ``flax.linen.Module`` followed by its variables.
    *args: the batch, passed to the model as it is (for linen: ``variables, *inputs``).
    target: the output variance to reach (> 0).
    tol: relative tolerance on the variance (> 0).
    max_iters: passes per layer (>= 1).
    orthogonal: redraw kernels orthogonally before rescaling.
    key: the PRNG key for ``orthogonal`` (default ``jax.random.key(0)``).
    inplace: nnx only: update ``model`` itself (only once every layer has been calibrated).
    call: as in :func:`jaxinit.diagnose`.
    **kwargs: keyword inputs passed to the model.

  Returns:
    ``Calibration(model, log)``: a calibrated copy of the nnx model (``model`` itself when ``inplace``)
    or new linen variables, and a :class:`CalibrationStep` per layer (its scale factor, variances,
    iterations, and whether it converged).

  Raises:
    ValueError: bad options, anything :func:`jaxinit.diagnose` rejects, ``inplace`` with linen, or a
      layer whose output variance is zero or not finite (nothing of the caller's is changed then).

  Examples:
    >>> import jax, jaxinit
    >>> from flax import nnx
    >>> model = nnx.Sequential(nnx.Linear(16, 32, rngs=nnx.Rngs(0)), nnx.relu,
    ...                        nnx.Linear(32, 8, rngs=nnx.Rngs(1)))
    >>> x = jax.random.normal(jax.random.key(0), (128, 16))
    >>> calibrated, log = jaxinit.calibrate(model, x)
    >>> [step.converged for step in log]
    [True, True]

  References:
    Mishkin & Matas, All you need is a good init, 2016.
  """
  _check(target, tol, max_iters)
  prep = _diagnose.Prepared(model, args, kwargs, None, call, "calibrate")
  if inplace and prep.framework != "nnx":
    raise ValueError("calibrate: inplace=True is for nnx models; a linen module's variables are returned new")
  calls, _, static = _diagnose.plan(prep)
  params = unfreeze(_engine._pure(prep.params))
  params = jax.tree.map(lambda a: a, params)  # a private copy of the containers
  if orthogonal:
    key = jax.random.key(0) if key is None else key
    for i, (c, path) in enumerate(_targets(calls)):
      if c.layout.fans is not None and len(c.layout.shape) >= 2:
        _set(params, path, _orthogonalise(_engine.lookup(params, path), c.layout, jax.random.fold_in(key, i)))
  log = []
  for c, path in _targets(calls):
    log.append(_calibrate_layer(static, prep, params, c, path, target, tol, max_iters))
  return Calibration(_rebuild(model, prep, params, inplace), tuple(log))


def _state_params(prep, params):
  if prep.framework == "nnx":
    state = jax.tree.map(lambda a: a, prep.params)
    nnx.replace_by_pure_dict(state, params)
    return state
  return params


def _calibrate_layer(static, prep, params, c, path, target, tol, max_iters) -> CalibrationStep:
  scale, before, variance, iterations = 1.0, None, None, 0
  kernel = _engine.lookup(params, path)
  for iterations in range(1, max_iters + 1):  # noqa: B007 (iterations is reported)
    variances = _variances_jit(static, _state_params(prep, params), prep.others, prep.arrays)
    variance = float(variances[c.index])
    before = variance if before is None else before
    if not (math.isfinite(variance) and variance > 0):
      raise ValueError(f"calibrate: layer {c.path!r} ({c.kind}) has output variance {variance} on the batch; "
                       "LSUV cannot rescale it (a zero or non-finite kernel or input: try orthogonal=True)")
    if abs(variance / target - 1.0) <= tol:
      return CalibrationStep(c.path, scale, before, variance, iterations - 1, True)
    factor = math.sqrt(target / variance)
    scale *= factor
    _set(params, path, (kernel * scale).astype(kernel.dtype))
  variances = _variances_jit(static, _state_params(prep, params), prep.others, prep.arrays)
  variance = float(variances[c.index])
  return CalibrationStep(c.path, scale, before, variance, iterations, abs(variance / target - 1.0) <= tol)


def _rebuild(model, prep, params, inplace):
  if prep.framework == "linen":
    return {"params": params, **prep.others}
  state = _state_params(prep, params)
  if inplace:
    nnx.update(model, state)
    return model
  return nnx.merge(prep.definition, state, jax.tree.map(lambda a: a, prep.others))
