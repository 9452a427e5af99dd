"""Argument checks and the float64 calling convention shared by every theory function."""

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit.core._activations import Activation, check_elementwise, resolve


def spec(activation, param, where):
  """The static, hashable description of an activation: (name, param) or (callable, None)."""
  if isinstance(activation, Activation):
    activation = activation.fn
  if callable(activation) and not isinstance(activation, str):
    if param is not None:
      raise ValueError(f"{where}: param={param!r} applies only to activation='leaky_relu'")
    try:
      hash(activation)
    except TypeError as e:
      raise ValueError(f"{where}: activation={activation!r} must be hashable (it is static)") from e
    check_elementwise(activation, where)
    return (activation, None)
  resolved = resolve(activation, param, where=where)
  return (resolved.name, resolved.param)


def is_callable_spec(activation_spec) -> bool:
  return not isinstance(activation_spec[0], str)


def check_depth(depth, where):
  if not isinstance(depth, numbers.Integral) or isinstance(depth, bool) or depth < 0:
    raise ValueError(f"{where}: depth={depth!r} must be an int >= 0")
  return int(depth)


def check_range(value, name, where, lo=0.0, hi=math.inf):
  """Checks a concrete value lies in [lo, hi]; traced values pass through unchecked."""
  try:
    v = np.asarray(value, dtype=np.float64)
  except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
    return value
  except (TypeError, ValueError) as e:
    raise ValueError(f"{where}: {name}={value!r} must be a real number") from e
  if not np.all(np.isfinite(v) & (v >= lo) & (v <= hi)):
    bound = f">= {lo:g}" if hi == math.inf else f"in [{lo:g}, {hi:g}]"
    raise ValueError(f"{where}: {name}={value!r} must be finite and {bound}")
  return value


def float64_call(core, static, *values):
  """Runs core(*static, *scalars) in float64, broadcasting array arguments with vmap."""
  with jax.enable_x64(True):
    values = [jnp.asarray(v, jnp.float64) for v in values]
    shape = jnp.broadcast_shapes(*(v.shape for v in values))
    if not shape:
      return core(*static, *values)
    flat = [jnp.broadcast_to(v, shape).reshape(-1) for v in values]
    out = jax.vmap(lambda *xs: core(*static, *xs))(*flat)
    return jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), out)


def refuse_unresolved(result, ok, message):
  """``result`` when the quadrature behind it was accurate; else ``ValueError(message)``.

  Under a caller's ``jax.jit`` or ``vmap`` ``ok`` is traced and cannot raise: the entries
  it marks are replaced by nan instead (``ok`` has the leading shape of each leaf).
  """
  try:
    all_ok = bool(np.all(np.asarray(ok)))
  except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError,
          jax.errors.TracerBoolConversionError):
    with jax.enable_x64(True):
      def mask(x):
        flag = jnp.reshape(ok, jnp.shape(ok) + (1,) * (jnp.ndim(x) - jnp.ndim(ok)))
        return jnp.where(flag, x, jnp.nan)
      return jax.tree.map(mask, result)
  if not all_ok:
    raise ValueError(message() if callable(message) else message)
  return result
