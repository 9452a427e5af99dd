"""Variance scaling and its named specialisations: jax.nn.initializers, sample for sample."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from jaxinit.core import _checks
from jaxinit.initializers import _skeleton
from jaxinit.initializers._describe import (
  DISTRIBUTIONS,
  MODES,
  Description,
  Distribution,
  Mode,
  VarianceSpec,
  fan_denominator,
)
from jaxinit.initializers._fans import compute_fans

# Standard deviation of N(0, 1) truncated to (-2, 2), and of the complex standard normal
# whose modulus is truncated to 2 (the constants jax and Keras divide by).
TRUNCATED_STD = 0.87962566103423978
COMPLEX_TRUNCATED_STD = 0.95311164380491208


def _complex_uniform(key, shape, dtype):
  """Uniform on the unit-variance disk of the complex plane (jax's construction)."""
  key_r, key_theta = jax.random.split(key)
  real = np.array(0, dtype).real.dtype
  r = jnp.sqrt(2 * jax.random.uniform(key_r, shape, real)).astype(dtype)
  theta = 2 * np.pi * jax.random.uniform(key_theta, shape, real).astype(dtype)
  return r * jnp.exp(1j * theta)


def _complex_truncated_normal(key, upper, shape, dtype):
  """Complex normal of unit variance before its modulus is truncated to ``upper`` (jax's construction)."""
  key_r, key_theta = jax.random.split(key)
  real = np.array(0, dtype).real.dtype
  t = ((1 - jnp.exp(jnp.array(-(upper ** 2), dtype)))
       * jax.random.uniform(key_r, shape, real).astype(dtype))
  r = jnp.sqrt(-jnp.log(1 - t))
  theta = 2 * np.pi * jax.random.uniform(key_theta, shape, real).astype(dtype)
  return r * jnp.exp(1j * theta)


def _scaled_draw(key, shape, dtype, distribution: str, variance, out_sharding):
  """One variance-scaling sample, computed exactly as jax computes it, in ``dtype``."""
  var = jnp.array(variance, dtype=dtype)
  if distribution == "truncated_normal":
    if not _checks.is_complex(dtype):
      stddev = jnp.sqrt(var) / jnp.array(TRUNCATED_STD, dtype)
      return jax.random.truncated_normal(key, -2, 2, shape, dtype, out_sharding=out_sharding) * stddev
    stddev = jnp.sqrt(var) / jnp.array(COMPLEX_TRUNCATED_STD, dtype)
    return _complex_truncated_normal(key, 2, shape, dtype) * stddev
  if distribution == "normal":
    return jax.random.normal(key, shape, dtype, out_sharding=out_sharding) * jnp.sqrt(var)
  if not _checks.is_complex(dtype):
    return jax.random.uniform(key, shape, dtype, -1, out_sharding=out_sharding) * jnp.sqrt(3 * var)
  return _complex_uniform(key, shape, dtype) * jnp.sqrt(var)


def _variance_scaling_rule(spec: VarianceSpec, where: str) -> _skeleton.Draw:
  def draw(key, shape, dtype, out_sharding):
    fans = compute_fans(shape, spec.in_axis, spec.out_axis, spec.batch_axis)
    if math.prod(shape) == 0:
      return jnp.zeros(shape, dtype, out_sharding=out_sharding)
    denominator = fan_denominator(spec.mode, fans.fan_in, fans.fan_out)
    if denominator == 0:
      raise ValueError(f"{where}: mode={spec.mode!r} gives a zero fan for shape={shape!r}")
    variance = spec.scale / denominator
    label = f"the variance scale / n (scale={spec.scale!r}, n={denominator:g})"
    scalars = {label: 3 * variance if spec.distribution == "uniform" else variance}
    work = _skeleton.working_dtype(dtype, where, scalars)
    return _scaled_draw(key, shape, work, spec.distribution, variance, out_sharding)
  return draw


def build_variance_scaling(scale, mode: Mode, distribution: Distribution, in_axis: _checks.Axes,
                           out_axis: _checks.Axes, batch_axis: _checks.Axes, dtype: DTypeLike | None,
                           where: str) -> _checks.Initializer:
  """:func:`variance_scaling` with errors that name ``where``, the public function the user called."""
  if not isinstance(scale, jax.core.Tracer):
    _checks.check_positive(scale, "scale", where)
  _checks.check_choice(mode, "mode", MODES, where)
  _checks.check_choice(distribution, "distribution", DISTRIBUTIONS, where)
  axes = {"in_axis": _checks.check_axes(in_axis, "in_axis", where),
          "out_axis": _checks.check_axes(out_axis, "out_axis", where),
          "batch_axis": _checks.check_axes(batch_axis, "batch_axis", where)}
  _checks.check_disjoint_axes(axes, where)
  spec = VarianceSpec(scale, mode, distribution, axes["in_axis"], axes["out_axis"], axes["batch_axis"])
  return _skeleton.initializer(_variance_scaling_rule(spec, where), where=where, dtype=dtype,
                               description=Description("variance_scaling", spec=spec))


def variance_scaling(scale, mode: Mode, distribution: Distribution, in_axis: _checks.Axes = -2,
                     out_axis: _checks.Axes = -1, batch_axis: _checks.Axes = (),
                     dtype: DTypeLike | None = None) -> _checks.Initializer:
  r"""Builds an initializer whose samples have variance ``scale / n``.

  ``n`` is ``fan_in``, ``fan_out``, ``(fan_in + fan_out) / 2`` or
  ``sqrt(fan_in * fan_out)`` for ``mode`` ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` and
  ``"fan_geo_avg"`` (see :func:`compute_fans`). ``"truncated_normal"`` draws
  N(0, 1) truncated to (-2, 2) divided by its std 0.8796..., so the variance after
  truncation is exact; ``"normal"`` draws N(0, scale / n); ``"uniform"`` draws
  U(-sqrt(3 scale / n), sqrt(3 scale / n)). Complex dtypes draw from a disk
  (uniform) or a modulus-truncated complex normal, as jax does.

  For float32, float64, bfloat16, float16 and complex dtypes the samples equal
  ``jax.nn.initializers.variance_scaling``'s bit for bit. float8 and float4 kernels
  are drawn in float32 and rounded: jax's truncated normal returns NaN in
  ``float8_e4m3fn`` and its float8 samples have the wrong std. Values beyond the
  dtype's range saturate to its largest finite value (never inf or nan); a variance
  the dtype cannot hold is computed in float32 first.

  Args:
    scale: the variance multiplier: a finite number > 0 or a scalar array (which may be
      traced); strings and bools are refused.
    mode: ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``.
    distribution: ``"truncated_normal"``, ``"normal"`` or ``"uniform"``.
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.
    dtype: the initializer's default dtype.

  Returns:
    An initializer ``init(key, shape, dtype=None, out_sharding=None)``; its
    ``description`` (see :func:`describe`) holds the :class:`VarianceSpec`.

  Raises:
    ValueError: here, a bad ``scale``, ``mode`` or ``distribution``, or axes that name one
      axis twice (equal values, within or across arguments); when called, a shape whose
      fans it cannot compute (axes out of range or overlapping for its rank), or a zero fan.
    TypeError: an integer or bool ``dtype``; a ``key`` that is not a PRNG key.

  Examples:
    >>> import jax, jaxinit
    >>> init = jaxinit.variance_scaling(2.0, "fan_in", "normal")
    >>> init(jax.random.key(0), (256, 128)).std().round(2)
    Array(0.09, dtype=float32)

  References:
    He et al., Delving Deep into Rectifiers, 2015.
  """
  return build_variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype,
                                "variance_scaling")


def glorot_uniform(in_axis: _checks.Axes = -2, out_axis: _checks.Axes = -1, batch_axis: _checks.Axes = (),
                   dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds a Glorot (Xavier) uniform initializer.

  U(-sqrt(6 / (fan_in + fan_out)), +sqrt(6 / (fan_in + fan_out))), variance
  2 / (fan_in + fan_out): ``variance_scaling(1.0, "fan_avg", "uniform")``, jax's samples.

  Args:
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.
    dtype: the initializer's default dtype.

  Returns:
    An initializer (see :func:`variance_scaling`).

  Raises:
    ValueError, TypeError: as :func:`variance_scaling`.

  Examples:
    >>> import jax, jaxinit
    >>> w = jaxinit.glorot_uniform()(jax.random.key(0), (64, 32))
    >>> bool(abs(w).max() <= (6 / 96) ** 0.5)
    True

  References:
    Glorot & Bengio, Understanding the difficulty of training deep feedforward neural networks, 2010.
  """
  return build_variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype,
                                "glorot_uniform")


def glorot_normal(in_axis: _checks.Axes = -2, out_axis: _checks.Axes = -1, batch_axis: _checks.Axes = (),
                  dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds a Glorot (Xavier) normal initializer.

  Truncated normal (+-2 std) with variance 2 / (fan_in + fan_out):
  ``variance_scaling(1.0, "fan_avg", "truncated_normal")``, as in jax and Keras. PyTorch's
  ``xavier_normal_`` is untruncated: use ``variance_scaling(1.0, "fan_avg", "normal")``.

  Args:
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.
    dtype: the initializer's default dtype.

  Returns:
    An initializer (see :func:`variance_scaling`).

  Raises:
    ValueError, TypeError: as :func:`variance_scaling`.

  Examples:
    >>> import jaxinit
    >>> jaxinit.describe(jaxinit.glorot_normal()).spec.variance((64, 32))
    0.020833333333333332

  References:
    Glorot & Bengio, Understanding the difficulty of training deep feedforward neural networks, 2010.
  """
  return build_variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis, dtype,
                                "glorot_normal")


def lecun_uniform(in_axis: _checks.Axes = -2, out_axis: _checks.Axes = -1, batch_axis: _checks.Axes = (),
                  dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds a LeCun uniform initializer.

  U(-sqrt(3 / fan_in), +sqrt(3 / fan_in)), variance 1 / fan_in:
  ``variance_scaling(1.0, "fan_in", "uniform")``, jax's samples.

  Args:
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.
    dtype: the initializer's default dtype.

  Returns:
    An initializer (see :func:`variance_scaling`).

  Raises:
    ValueError, TypeError: as :func:`variance_scaling`.

  Examples:
    >>> import jax, jaxinit
    >>> w = jaxinit.lecun_uniform()(jax.random.key(0), (48, 16))
    >>> bool(abs(w).max() <= 0.25)
    True

  References:
    LeCun et al., Efficient BackProp, 1998.
  """
  return build_variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype,
                                "lecun_uniform")


def lecun_normal(in_axis: _checks.Axes = -2, out_axis: _checks.Axes = -1, batch_axis: _checks.Axes = (),
                 dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds a LeCun normal initializer (SELU's).

  Truncated normal (+-2 std) with variance 1 / fan_in:
  ``variance_scaling(1.0, "fan_in", "truncated_normal")``, jax's samples.

  Args:
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.
    dtype: the initializer's default dtype.

  Returns:
    An initializer (see :func:`variance_scaling`).

  Raises:
    ValueError, TypeError: as :func:`variance_scaling`.

  Examples:
    >>> import jaxinit
    >>> jaxinit.describe(jaxinit.lecun_normal()).spec.variance((3, 3, 16, 8))
    0.006944444444444444

  References:
    Klambauer et al., Self-Normalizing Neural Networks, 2017.
  """
  return build_variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype,
                                "lecun_normal")


def he_uniform(in_axis: _checks.Axes = -2, out_axis: _checks.Axes = -1, batch_axis: _checks.Axes = (),
               dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds a He (Kaiming) uniform initializer.

  U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)), variance 2 / fan_in:
  ``variance_scaling(2.0, "fan_in", "uniform")``, jax's samples.

  Args:
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.
    dtype: the initializer's default dtype.

  Returns:
    An initializer (see :func:`variance_scaling`).

  Raises:
    ValueError, TypeError: as :func:`variance_scaling`.

  Examples:
    >>> import jax, jaxinit
    >>> w = jaxinit.he_uniform()(jax.random.key(0), (96, 16))
    >>> bool(abs(w).max() <= 0.25)
    True

  References:
    He et al., Delving Deep into Rectifiers, 2015.
  """
  return build_variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype, "he_uniform")


def he_normal(in_axis: _checks.Axes = -2, out_axis: _checks.Axes = -1, batch_axis: _checks.Axes = (),
              dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds a He (Kaiming) normal initializer.

  Truncated normal (+-2 std) with variance 2 / fan_in:
  ``variance_scaling(2.0, "fan_in", "truncated_normal")``, jax's samples. PyTorch's
  ``kaiming_normal_`` is untruncated: use ``variance_scaling(2.0, "fan_in", "normal")``.

  Args:
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.
    dtype: the initializer's default dtype.

  Returns:
    An initializer (see :func:`variance_scaling`).

  Raises:
    ValueError, TypeError: as :func:`variance_scaling`.

  Examples:
    >>> import jax, jaxinit
    >>> w = jaxinit.he_normal()(jax.random.key(0), (512, 256))
    >>> (w.std() * 512 ** 0.5 / 2 ** 0.5).round(1)
    Array(1., dtype=float32)

  References:
    He et al., Delving Deep into Rectifiers, 2015.
  """
  return build_variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype,
                                "he_normal")


xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal
