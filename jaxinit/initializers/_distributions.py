"""Constants and simple distributions: zeros, ones, constant, normal, truncated_normal, uniform."""

import jax
import jax.numpy as jnp
from jax.typing import DTypeLike

from jaxinit.core import _checks
from jaxinit.initializers import _skeleton
from jaxinit.initializers._describe import OPAQUE


def _fill(value):
  def draw(key, shape, dtype, out_sharding):
    del key, out_sharding  # a constant ignores the key; the skeleton places the result
    return jnp.full(shape, value, dtype=dtype)
  return draw


_zeros = _skeleton.initializer(_fill(0), where="zeros", uses_key=False)
_ones = _skeleton.initializer(_fill(1), where="ones", uses_key=False)


def zeros(key, shape, dtype: DTypeLike | None = None, out_sharding=None) -> jax.Array:
  """An initializer of zeros; ``key`` is ignored. Zero weights make every unit identical: use it for biases.

  Args:
    key: ignored (any value), as in jax.
    shape: the shape of the array.
    dtype: a floating or complex dtype (default: jax's default float).
    out_sharding: the sharding of the result (a ``NamedSharding``, or a ``PartitionSpec``
      under a mesh).

  Returns:
    An array of zeros.

  Raises:
    TypeError: an integer or bool ``dtype``.
    ValueError: a bad ``shape``.

  Examples:
    >>> import jax, jaxinit
    >>> jaxinit.zeros(jax.random.key(0), (2,))
    Array([0., 0.], dtype=float32)
  """
  return _zeros(key, shape, dtype, out_sharding)


def ones(key, shape, dtype: DTypeLike | None = None, out_sharding=None) -> jax.Array:
  """An initializer of ones; ``key`` is ignored.

  Args:
    key: ignored (any value), as in jax.
    shape: the shape of the array.
    dtype: a floating or complex dtype (default: jax's default float).
    out_sharding: the sharding of the result.

  Returns:
    An array of ones.

  Raises:
    TypeError: an integer or bool ``dtype``.
    ValueError: a bad ``shape``.

  Examples:
    >>> import jax, jaxinit
    >>> jaxinit.ones(jax.random.key(0), (2,))
    Array([1., 1.], dtype=float32)
  """
  return _ones(key, shape, dtype, out_sharding)


zeros.description = OPAQUE
ones.description = OPAQUE


def constant(value, dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds an initializer filled with ``value``; the key is ignored.

  Every entry is ``value`` rounded to the dtype; a value beyond the dtype's range
  saturates to its largest finite value (``constant(1000.0)`` gives 448 in
  ``float8_e4m3fn``, 65504 in float16), never inf or nan.

  Args:
    value: a finite scalar (or an array broadcastable to the shapes it will fill).
    dtype: the initializer's default dtype.

  Returns:
    An initializer.

  Raises:
    ValueError: a non-finite or non-numeric ``value``.
    TypeError: an integer or bool ``dtype``.

  Examples:
    >>> import jax, jaxinit
    >>> jaxinit.constant(-7.0)(jax.random.key(0), (2,))
    Array([-7., -7.], dtype=float32)
  """
  where = "constant"
  if not isinstance(value, jax.core.Tracer):
    _checks.check_finite(value, "value", where)

  def draw(key, shape, dtype, out_sharding):
    work = _skeleton.working_dtype(dtype, where, {"value": value})
    return _fill(value)(key, shape, work, out_sharding)

  return _skeleton.initializer(draw, where=where, dtype=dtype, uses_key=False)


def normal(stddev=1e-2, dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds an initializer of N(0, stddev^2) samples (jax's ``normal``, sample for sample).

  Each entry is ``stddev * z``, z ~ N(0, 1) (a complex dtype draws a complex normal of
  unit variance, E|z|^2 = 1). Values beyond the dtype's range saturate to its largest
  finite value; float8 kernels are drawn in float32 and rounded.

  Args:
    stddev: the standard deviation: finite and > 0 (a scalar array, possibly traced).
    dtype: the initializer's default dtype.

  Returns:
    An initializer.

  Raises:
    ValueError: a bad ``stddev``.
    TypeError: an integer or bool ``dtype``; a ``key`` that is not a PRNG key.

  Examples:
    >>> import jax, jaxinit
    >>> jaxinit.normal(1.0)(jax.random.key(0), (10_000,)).std().round(1)
    Array(1., dtype=float32)
  """
  where = "normal"
  if not isinstance(stddev, jax.core.Tracer):
    _checks.check_positive(stddev, "stddev", where)

  def draw(key, shape, dtype, out_sharding):
    work = _skeleton.working_dtype(dtype, where, {"stddev": stddev})
    return jax.random.normal(key, shape, work, out_sharding=out_sharding) * jnp.array(stddev, work)

  return _skeleton.initializer(draw, where=where, dtype=dtype)


def truncated_normal(stddev=1e-2, dtype: DTypeLike | None = None, lower=-2.0,
                     upper=2.0) -> _checks.Initializer:
  """Builds an initializer of ``stddev`` times N(0, 1) truncated to (lower, upper): jax's, sample for sample.

  Like jax, ``stddev`` is the std *before* truncation; the samples' std is smaller
  (0.8796 stddev for the default bounds). The variance-scaling schemes correct for it.
  Values beyond the dtype's range saturate to its largest finite value.

  Args:
    stddev: the scale: finite and > 0 (a scalar array, possibly traced).
    dtype: the initializer's default dtype (real).
    lower: lower bound in units of ``stddev``.
    upper: upper bound in units of ``stddev``; ``lower < upper``.

  Returns:
    An initializer.

  Raises:
    ValueError: a bad ``stddev``, or bounds not finite with ``lower < upper``.
    TypeError: an integer, bool or (at call time) complex ``dtype``; a bad ``key``.

  Examples:
    >>> import jax, jaxinit
    >>> x = jaxinit.truncated_normal(1.0)(jax.random.key(0), (10_000,))
    >>> bool((abs(x) <= 2).all())
    True
  """
  where = "truncated_normal"
  if not isinstance(stddev, jax.core.Tracer):
    _checks.check_positive(stddev, "stddev", where)
  _checks.check_finite(lower, "lower", where)
  _checks.check_finite(upper, "upper", where)
  if not float(lower) < float(upper):
    raise ValueError(f"{where}: lower={lower!r} must be below upper={upper!r}")

  def draw(key, shape, dtype, out_sharding):
    work = _skeleton.working_dtype(dtype, where, {"stddev": stddev})
    x = jax.random.truncated_normal(key, lower, upper, shape, work, out_sharding=out_sharding)
    return x * jnp.array(stddev, work)

  return _skeleton.initializer(draw, where=where, dtype=dtype, real_only=True)


def uniform(scale=1e-2, dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds an initializer of U[0, scale) samples (jax's ``uniform``, sample for sample).

  The range is [0, scale), not symmetric: for a zero-mean uniform use
  ``variance_scaling(..., "uniform")``. Values beyond the dtype's range saturate to its
  largest finite value.

  Args:
    scale: the upper bound: finite and > 0 (a scalar array, possibly traced).
    dtype: the initializer's default dtype (real).

  Returns:
    An initializer.

  Raises:
    ValueError: a bad ``scale``.
    TypeError: an integer, bool or (at call time) complex ``dtype``; a bad ``key``.

  Examples:
    >>> import jax, jaxinit
    >>> x = jaxinit.uniform(10.0)(jax.random.key(0), (1000,))
    >>> bool((x >= 0).all() and (x < 10).all())
    True
  """
  where = "uniform"
  if not isinstance(scale, jax.core.Tracer):
    _checks.check_positive(scale, "scale", where)

  def draw(key, shape, dtype, out_sharding):
    work = _skeleton.working_dtype(dtype, where, {"scale": scale})
    return jax.random.uniform(key, shape, work, out_sharding=out_sharding) * jnp.array(scale, work)

  return _skeleton.initializer(draw, where=where, dtype=dtype, real_only=True)
