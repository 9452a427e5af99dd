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

# floats that cannot represent 0 or a negative number: casting a weight to them gives nan
_NO_ZERO_DTYPES = ("float8_e8m0fnu",)


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
  if dt.name in _NO_ZERO_DTYPES:
    raise TypeError(f"{where}: dtype={dt.name!r} has no zero and no sign (a scale format); "
                    "it cannot hold weights")
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


def _real_scalar(value, name: str, where: str) -> float:
  """``value`` as a float if it is a real number or a concrete real scalar array; else ``ValueError``.

  Strings and bools are refused even where numpy would convert them (``float("2")``).
  """
  if isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
    raise ValueError(f"{where}: {name}={value!r} must be a real number")
  try:
    arr = np.asarray(value)
  except (TypeError, ValueError) as e:
    raise ValueError(f"{where}: {name}={value!r} must be a real number") from e
  if arr.ndim != 0 or not (jnp.issubdtype(arr.dtype, jnp.integer) or jnp.issubdtype(arr.dtype, jnp.floating)):
    raise ValueError(f"{where}: {name}={value!r} must be a real number (a scalar, not {arr.dtype.name} "
                     f"of shape {arr.shape})")
  return float(arr)


def check_positive(value, name: str, where: str, *, allow_zero: bool = False):
  """Factory-time check of a scalar hyperparameter (Python number or concrete scalar array)."""
  v = _real_scalar(value, name, where)
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


def check_disjoint_axes(axes: dict[str, Axes], where: str) -> None:
  """Factory-time check that no axis is named twice, within one argument or across them.

  Only equal values are compared: ``-1`` and ``1`` may or may not be the same axis,
  which the kernel's rank decides at call time (:func:`compute_fans` says so then).
  """
  seen: dict[int, str] = {}
  for name, value in axes.items():
    for a in (value,) if isinstance(value, int) else value:
      if a in seen:
        first = seen[a]
        both = f"{name}={value!r}" if first == name else f"{first}={axes[first]!r} and {name}={value!r}"
        raise ValueError(f"{where}: {both} name axis {a} twice; in, out and batch axes must differ")
      seen[a] = name


def check_key(key, where: str):
  """Returns ``key`` if it is a PRNG key (typed, or a legacy uint32 key); else ``TypeError`` naming it.

  Works on tracers too (under jit and vmap only the per-example shape and dtype are seen).
  """
  dtype = getattr(key, "dtype", None)
  shape = getattr(key, "shape", None)
  if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
    if shape == ():
      return key
    raise TypeError(f"{where}: key has shape {shape}; an initializer takes one key "
                    "(vmap it over a batch of keys)")
  if dtype is not None and np.dtype(dtype) == np.uint32 and shape in ((2,), (4,)):
    return key  # a legacy raw key, jax.random.PRNGKey(seed)
  raise TypeError(f"{where}: key={_short_repr(key)} is not a PRNG key; pass jax.random.key(seed)")


def _short_repr(value) -> str:
  text = repr(value)
  return text if len(text) <= 80 else text[:77] + "..."


def place(x: jax.Array, out_sharding) -> jax.Array:
  """Gives ``x`` the requested sharding (a ``NamedSharding`` or, under a mesh, a ``PartitionSpec``)."""
  if out_sharding is None:
    return x
  return jax.sharding.reshard(x, out_sharding)
