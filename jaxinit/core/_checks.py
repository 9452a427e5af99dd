"""Shared pieces of every initializer: the protocol, dtype and shape checks, sharding."""

import math
import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

Initializer = jax.nn.initializers.Initializer
"""jax's runtime-checkable initializer Protocol: ``(key, shape, dtype=None, out_sharding=None) -> Array``."""

Axes = int | Sequence[int]


def default_float_dtype() -> np.dtype:
  """float32, or float64 when ``jax_enable_x64`` is on (jax's own default)."""
  return np.dtype(jnp.result_type(float))


def check_dtype(dtype, where: str) -> np.dtype | None:
  """Returns ``dtype`` as a numpy dtype; ``TypeError`` unless it is floating or complex."""
  if dtype is None:
    return None
  try:
    dt = np.dtype(jnp.dtype(dtype))
  except TypeError as e:
    raise TypeError(f"{where}: dtype={dtype!r} is not a dtype") from e
  if not jnp.issubdtype(dt, jnp.inexact):
    raise TypeError(
        f"{where}: dtype={dt.name!r} is not a floating or complex dtype; "
        "initializers return inexact arrays")
  return dt


def resolve_dtype(dtype, where: str) -> np.dtype:
  dt = check_dtype(dtype, where)
  return default_float_dtype() if dt is None else dt


def is_complex(dtype: np.dtype) -> bool:
  return jnp.issubdtype(dtype, jnp.complexfloating)


def sampling_dtype(dtype: np.dtype) -> np.dtype:
  """The dtype random numbers are drawn in.

  Sub-16-bit floats (float8, float4) are drawn in float32 and rounded: jax's own
  samplers in those types return NaN (truncated normal in float8_e4m3fn) or the wrong
  standard deviation (inverse-CDF sampling at 3 mantissa bits).
  """
  if not is_complex(dtype) and jnp.finfo(dtype).bits < 16:
    return np.dtype(np.float32)
  return dtype


def check_shape(shape, where: str) -> tuple[int, ...]:
  """Returns ``shape`` as a tuple of Python ints; ``ValueError`` for negative or non-integer dims."""
  if isinstance(shape, numbers.Integral):
    shape = (shape,)
  try:
    dims = tuple(shape)
  except TypeError as e:
    raise ValueError(f"{where}: shape={shape!r} is not a sequence of ints") from e
  for d in dims:
    if not isinstance(d, numbers.Integral) or isinstance(d, bool) or d < 0:
      raise ValueError(f"{where}: shape={dims!r} must be non-negative ints")
  return tuple(int(d) for d in dims)


def check_positive(value, name: str, where: str, *, allow_zero: bool = False):
  """Factory-time check of a scalar hyperparameter (Python or concrete array)."""
  try:
    v = float(np.asarray(value))
  except (TypeError, ValueError) as e:
    raise ValueError(f"{where}: {name}={value!r} must be a real number") from e
  ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
  if not ok:
    bound = ">= 0" if allow_zero else "> 0"
    raise ValueError(f"{where}: {name}={value!r} must be finite and {bound}")
  return value


def check_finite(value, name: str, where: str):
  try:
    v = np.asarray(value)
    finite = bool(np.all(np.isfinite(v)))
  except (TypeError, ValueError) as e:
    raise ValueError(f"{where}: {name}={value!r} must be a number") from e
  if not finite:
    raise ValueError(f"{where}: {name}={value!r} must be finite")
  return value


def check_choice(value, name: str, choices: Sequence[str], where: str) -> str:
  if value not in choices:
    raise ValueError(f"{where}: {name}={value!r}; expected one of {', '.join(map(repr, choices))}")
  return value


def check_axes(axes, name: str, where: str) -> Axes:
  if isinstance(axes, numbers.Integral) and not isinstance(axes, bool):
    return int(axes)
  try:
    out = tuple(axes)
  except TypeError as e:
    raise ValueError(f"{where}: {name}={axes!r} must be an int or a sequence of ints") from e
  if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in out):
    raise ValueError(f"{where}: {name}={axes!r} must be an int or a sequence of ints")
  return tuple(int(a) for a in out)


def place(x: jax.Array, out_sharding) -> jax.Array:
  """Gives ``x`` the requested sharding (a ``NamedSharding`` or, under a mesh, a ``PartitionSpec``)."""
  if out_sharding is None:
    return x
  return jax.sharding.reshard(x, out_sharding)
