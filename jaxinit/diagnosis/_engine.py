"""The jitted forward and backward pass, reduced on device to a few numbers per call."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from flax.core import unfreeze

from jaxinit.diagnosis import _capture


def _pure(tree):
  if isinstance(tree, nnx.State):
    return nnx.to_pure_dict(tree)
  return unfreeze(tree)


def lookup(tree, key_path):
  for key in key_path:
    tree = tree[key]
  return tree


def _moments(a) -> dict:
  a = a.astype(jnp.float32)
  offset = a - a.ravel()[0]  # exact zero for a constant array, where jnp.std rounds to about 1e-7 |a|
  mean_offset = jnp.mean(offset)
  std = jnp.sqrt(jnp.maximum(jnp.mean(jnp.square(offset - mean_offset)), 0.0))
  return {"mean": jnp.mean(a), "std": std, "rms": jnp.sqrt(jnp.mean(a * a)),
          "finite": jnp.all(jnp.isfinite(a))}


def identical_units(kernel, unit_axes: tuple[int, ...]):
  """How many units (entries along ``unit_axes``) have exactly the first unit's weights (constant inits)."""
  k = jnp.moveaxis(kernel, unit_axes, tuple(range(len(unit_axes))))
  k = k.reshape(math.prod(k.shape[:len(unit_axes)]), -1)
  if k.shape[0] < 2 or k.shape[1] == 0:
    return jnp.zeros((), jnp.int32)
  return jnp.sum(jnp.all(k[1:] == k[:1], axis=1)).astype(jnp.int32)


def _kurtosis(a):
  a = a.astype(jnp.float32).ravel()
  centred = a - jnp.mean(a)
  var = jnp.mean(centred ** 2)
  return jnp.where(var > 0, jnp.mean(centred ** 4) / jnp.where(var > 0, var, 1.0) ** 2 - 3.0, jnp.nan)


def _layer_stats(info: _capture.CallInfo, x, y, grad_y, kernel, grad_kernel) -> dict:
  if y is None:
    return {}
  stats = {"out": _moments(y)}
  if x is not None:
    stats["in_rms"] = jnp.sqrt(jnp.mean(jnp.square(x.astype(jnp.float32))))
  if info.layout is None:
    return stats
  units_positive = jnp.any(y.reshape(-1, y.shape[-1]) > 0, axis=0) if y.ndim else y > 0
  stats["dead"] = 1.0 - jnp.mean(units_positive.astype(jnp.float32))
  stats["grad_out"] = _moments(grad_y)
  if kernel is not None:
    layout = info.layout
    stats["kernel"] = _moments(kernel)
    stats["kernel"]["kurtosis"] = _kurtosis(kernel)
    stats["grad_kernel"] = _moments(grad_kernel)
    if kernel.ndim >= 2 and layout.note != "normalisation layer":
      unit_axes = (layout.out_axis + layout.batch_axis) or (kernel.ndim - 1,)
      stats["identical"] = identical_units(kernel, unit_axes)
      stats["identical_grad"] = identical_units(grad_kernel, unit_axes)
  return stats


def _run(static: _capture.Static, params, others, arrays):
  perturbations = {c.index: jnp.zeros(c.out_shape, c.out_dtype) for c in static.calls
                   if c.layout is not None and c.out_shape is not None}

  def loss_fn(params, perturbations):
    rec = _capture._Recorder(perturbations)
    out = _capture._forward(static, params, others, arrays, rec)
    loss = static.loss(out)
    if jnp.shape(loss) != ():
      raise ValueError(f"diagnose: loss must return a scalar; it returned shape {jnp.shape(loss)}")
    return loss.astype(jnp.float32), rec.records

  (loss, records), (grad_params, grad_perturbations) = jax.value_and_grad(
      loss_fn, argnums=(0, 1), has_aux=True)(params, perturbations)
  params, grad_params = _pure(params), _pure(grad_params)
  stats = {}
  for index, x, y in records:
    info = static.calls[index]
    kernel = grad_kernel = None
    if info.layout is not None and info.layout.param is not None:
      key = (*info.param_key, info.layout.param)
      kernel, grad_kernel = lookup(params, key), lookup(grad_params, key)
    stats[index] = _layer_stats(info, x, y, grad_perturbations.get(index), kernel, grad_kernel)
  # one array back to the host instead of one transfer per number
  leaves, treedef = jax.tree.flatten({"loss": loss, "calls": stats})
  _TREEDEFS[static] = treedef
  return jnp.stack([jnp.asarray(leaf, jnp.float32) for leaf in leaves])


_TREEDEFS: dict = {}
_run_jit = jax.jit(_run, static_argnums=(0,))


def run(static, params, others, arrays) -> dict:
  """The loss and per-call statistics as Python floats, from one jitted forward and backward pass."""
  packed = np.asarray(_run_jit(static, params, others, arrays))
  return jax.tree.unflatten(_TREEDEFS[static], [float(v) for v in packed])
