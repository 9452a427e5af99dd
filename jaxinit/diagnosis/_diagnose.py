"""jaxinit.diagnose: plan (trace the calls), run (one jitted forward and backward), collect (rows), judge (rules)."""

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import linen as nn
from flax import nnx

from jaxinit.diagnosis import _capture, _engine, _program, _rules, _schemes
from jaxinit.diagnosis._result import Diagnosis, LayerRow
from jaxinit.diagnosis._rules import Thresholds

_PLANS: dict = {}
_MAX_PLANS = 64


def half_squared_output(out) -> jax.Array:
  """The default loss: ``0.5 * sum(y ** 2)`` of the first floating-point array ``y`` of the output."""
  y = _capture.first_array(out)
  return 0.5 * jnp.sum(jnp.square(y.astype(jnp.float32)))


class Prepared:
  """A model split into its definition (static), parameters, other state and the call's arrays."""

  def __init__(self, model, args, kwargs, loss, call, where: str):
    if isinstance(model, nnx.Module):
      self.framework = "nnx"
      self.definition, self.params, self.others = nnx.split(model, nnx.Param, ...)
      n_params = len(jax.tree.leaves(self.params))
    elif isinstance(model, nn.Module):
      if not args or not isinstance(args[0], dict) and not hasattr(args[0], "keys"):
        raise ValueError(f"{where}: a linen module needs its variables: {where}(module, variables, *inputs)")
      variables, args = args[0], args[1:]
      if "params" not in variables:
        raise ValueError(f"{where}: variables has no 'params' collection (collections: {list(variables)})")
      self.framework = "linen"
      self.definition = model.clone(parent=None) if model.scope is not None else model
      self.params = variables["params"]
      self.others = {k: v for k, v in variables.items() if k != "params"}
      n_params = len(jax.tree.leaves(self.params))
    else:
      raise ValueError(f"{where}: model must be a flax.nnx.Module or a flax.linen.Module, got "
                       f"{type(model).__name__}")
    if n_params == 0:
      raise ValueError(f"{where}: the model has no parameters")
    self.treedef, self.static_leaves, self.arrays = _capture.split_args(args, kwargs)
    if not self.arrays:
      raise ValueError(f"{where}: no input array was given")
    for i, a in enumerate(self.arrays):
      if jnp.issubdtype(a.dtype, jnp.inexact) and not bool(jnp.all(jnp.isfinite(a))):
        raise ValueError(f"{where}: input array {i} (shape {tuple(a.shape)}) has non-finite values")
    self.static = _capture.Static(self.framework, self.definition, self.treedef, self.static_leaves,
                                  loss or half_squared_output, call, ())
    self.where = where

  def avals(self):
    leaves = jax.tree.leaves((self.params, self.others, self.arrays))
    return tuple((tuple(leaf.shape), str(leaf.dtype)) for leaf in leaves)


class Planned:
  """A traced plan: the Static with its calls, hashed by identity so the jit cache lookup costs nothing."""

  def __init__(self, static: _capture.Static):
    self.static = static

  def __getattr__(self, name):
    return getattr(self.__dict__["static"], name)


def plan(prep: Prepared):
  """``(calls, flows, planned)``, traced once per (model definition, shapes) and cached."""
  key = (prep.static, prep.avals())
  try:
    hit = _PLANS.get(key)
  except TypeError:  # an unhashable static argument: plan every time
    hit, key = None, None
  if hit is None:
    try:
      calls, jaxpr = _capture.plan(prep.static, prep.params, prep.others, prep.arrays)
    except _capture.LayerError as err:
      raise ValueError(f"{prep.where}: {err}") from None
    if not any(c.layout is not None for c in calls):
      raise ValueError(f"{prep.where}: no parametrised layer was called; is the model's parameter used?")
    hit = (calls, _program.analyse(jaxpr, len(calls)), Planned(prep.static._replace(calls=calls)))
    if key is not None:
      if len(_PLANS) >= _MAX_PLANS:
        _PLANS.pop(next(iter(_PLANS)))
      _PLANS[key] = hit
  return hit


def _f(x) -> float | None:
  return None if x is None else float(x)


def _row(call: _capture.CallInfo, flow: _program.Flow, s: dict, repeat: int) -> LayerRow:
  layout = call.layout
  kernel, grad_kernel, out, grad_out = (s.get(k, {}) for k in ("kernel", "grad_kernel", "out", "grad_out"))
  n = math.prod(layout.shape) if layout.shape else 0
  scheme = _schemes.UNKNOWN
  if kernel and layout.note != "normalisation layer":
    scheme = _schemes.match(float(kernel["std"]), float(kernel["kurtosis"]), n, layout.fans, call.kind)
  parts = {"kernel": kernel, "output": out, "output gradient": grad_out, "kernel gradient": grad_kernel}
  non_finite = tuple(name for name, d in parts.items() if not bool(d.get("finite", True)))
  rectified = flow.activation_out in _program.RECTIFIERS
  return LayerRow(
      index=call.index, path=call.path if repeat == 1 else f"{call.path} (call {repeat})", kind=call.kind,
      kernel_shape=layout.shape, fan_in=None if layout.fans is None else layout.fans.fan_in,
      fan_out=None if layout.fans is None else layout.fans.fan_out, fans_note=layout.note,
      weight_mean=_f(kernel.get("mean")), weight_std=_f(kernel.get("std")), weight_kurtosis=_f(kernel.get("kurtosis")), scheme=scheme.name if layout.note != "normalisation layer" else "-",
      scheme_ratio=scheme.ratio, in_rms=_f(s.get("in_rms")), out_mean=_f(out.get("mean")),
      out_std=_f(out.get("std")), out_rms=_f(out.get("rms")),
      dead_fraction=_f(s.get("dead")) if rectified else None, grad_out_std=_f(grad_out.get("std")),
      grad_kernel_std=_f(grad_kernel.get("std")),
      identical_units=None if "identical" not in s else int(s["identical"]),
      identical_grad=None if "identical_grad" not in s else int(s["identical_grad"]),
      finite=not non_finite, non_finite=non_finite, activation_in=flow.activation_in, activation_out=flow.activation_out)


def _streams(calls, flows, stats) -> tuple[_rules.Stream, ...]:
  groups: dict[str, list] = {}
  for call, flow in zip(calls, flows, strict=True):
    s = stats.get(call.index, {})
    if flow.residual and "in_rms" in s and "out" in s:
      parent = call.path.rsplit("/", 1)[0] if "/" in call.path else "<root>"
      groups.setdefault(parent, []).append((call.path, float(s["in_rms"]) ** 2, float(s["out"]["rms"]) ** 2))
  return tuple(_rules.Stream(parent, tuple(b[0] for b in blocks), (blocks[0][1], *(b[2] for b in blocks)))
               for parent, blocks in groups.items())


def collect(prep: Prepared, calls, flows, result) -> tuple[list[LayerRow], dict, tuple]:
  stats = result["calls"]
  rows, seen = [], {}
  for call, flow in zip(calls, flows, strict=True):
    if call.layout is None:
      continue
    seen[call.path] = seen.get(call.path, 0) + 1
    rows.append(_row(call, flow, stats.get(call.index, {}), seen[call.path]))
  layouts = {c.index: c.layout for c in calls}
  return rows, layouts, _streams(calls, flows, stats)


def judge(rows, layouts, streams, thresholds: Thresholds):
  def matcher(row, fans):
    n = math.prod(row.kernel_shape)
    return _schemes.match(row.weight_std, row.weight_kurtosis, n, fans, row.kind)

  warnings = []
  for rule in (_rules.non_finite, _rules.zero_and_identical, _rules.dead_units, _rules.drift):
    warnings += rule(rows, layouts, thresholds)
  layout_warnings = _rules.fan_layout(rows, layouts, thresholds, matcher=matcher)
  misdrawn = {w.path for w in layout_warnings}  # their kernel_std warning would say the same thing again
  warnings += [w for w in _rules.kernel_std(rows, layouts, thresholds) if w.path not in misdrawn]
  warnings += layout_warnings
  warnings += _rules.residual_growth(streams, thresholds)
  return tuple(warnings)


def diagnose(model, *args, loss: Callable | None = None, call: Callable | None = None,
             thresholds: Thresholds | None = None, **kwargs) -> Diagnosis:
  """Diagnoses a Flax model's initialization with one jitted forward and backward pass over a batch.

  Every call of a layer that holds parameters (Linear/Dense, LinearGeneral/DenseGeneral, Einsum, Conv,
  ConvTranspose, Embed, norm layers, attention projections, any module with a kernel) is captured
  without changing the model: its input, output, the gradient of ``loss`` with respect to the output
  (through a zero perturbation) and its kernel's gradient. Statistics are reduced on device. Fans
  come from the layer's layout: an Einsum's string (contracted kernel axes are fan-in), a conv's
  window, ``(*batch, *in, *out)`` for LinearGeneral, ``(vocab, features)`` for Embed. The traced
  program tells which activation follows each layer (``jax.nn`` functions, ``tanh``) and which blocks
  are residual (output = input + branch).

  Warnings: non-finite values; zero-variance kernels and identical units whose gradients keep them
  identical; dead units before a ReLU; forward or gradient scale drifting by more than
  ``thresholds.drift`` across layers; a kernel std far from ``gain(activation) / sqrt(fan_in)``
  for the activation applied to its input; a kernel drawn with fans from its last two axes when its
  layout says otherwise; residual streams whose variance grows linearly or faster with depth.

  Args:
    model: a ``flax.nnx.Module``, or a ``flax.linen.Module`` followed by its variables.
    *args: the inputs, passed to the model as they are (for linen: ``variables, *inputs``).
    loss: ``loss(output) -> scalar``; default :func:`half_squared_output` (of the first array of a
      tuple or dict output). Pass a module-level function so repeated diagnoses reuse the compilation.
    call: ``call(model, *args, **kwargs)`` (nnx) or ``call(module, variables, *args, **kwargs)``
      (linen) instead of calling the model directly.
    thresholds: a :class:`Thresholds` (drift factor, dead fraction, kernel std factor, residual growth).
    **kwargs: keyword inputs passed to the model; non-array values are static.

  Returns:
    A :class:`Diagnosis`; the model is not modified.

  Raises:
    ValueError: a model that is not a Flax module or has no parameters, missing linen variables,
      no input or a non-finite input, a layer that rejects its input (the message names it).

  Examples:
    >>> import jax, jaxinit
    >>> from flax import nnx
    >>> model = nnx.Sequential(nnx.Linear(16, 32, rngs=nnx.Rngs(0)), nnx.relu,
    ...                        nnx.Linear(32, 4, rngs=nnx.Rngs(1)))
    >>> d = jaxinit.diagnose(model, jax.random.normal(jax.random.key(0), (64, 16)))
    >>> [(r.path, r.fan_in, r.activation_out) for r in d.rows]
    [('layers/0', 16, 'relu'), ('layers/2', 32, None)]

  References:
    Mishkin & Matas, All you need is a good init, 2016 (layer-wise output variance as the health measure).
  """
  where = "diagnose"
  thresholds = Thresholds() if thresholds is None else thresholds
  if not isinstance(thresholds, Thresholds):
    raise ValueError(f"{where}: thresholds={thresholds!r} must be a jaxinit.diagnosis.Thresholds")
  prep = Prepared(model, args, kwargs, loss, call, where)
  calls, flows, planned = plan(prep)
  try:
    result = _engine.run(planned, prep.params, prep.others, prep.arrays)
  except _capture.LayerError as err:
    raise ValueError(f"{where}: {err}") from None
  rows, layouts, streams = collect(prep, calls, flows, result)
  return Diagnosis(tuple(rows), judge(rows, layouts, streams, thresholds), result["loss"],
                   prep.framework, streams)
