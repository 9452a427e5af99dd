"""Variance-scaling schemes and simple distributions: jax.nn.initializers, sample for sample."""

import math
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit.core import _checks
from jaxinit.initializers._fans import compute_fans

Mode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Distribution = Literal["truncated_normal", "normal", "uniform"]
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")

# Standard deviation of N(0, 1) truncated to (-2, 2), and of the complex standard normal
# whose modulus is truncated to 2 (the constants jax and Keras divide by).
TRUNCATED_STD = 0.87962566103423978
COMPLEX_TRUNCATED_STD = 0.95311164380491208


class VarianceSpec(NamedTuple):
  """What a variance-scaling initializer draws: enough to share random numbers between schemes."""
  scale: float
  mode: str
  distribution: str
  in_axis: _checks.Axes
  out_axis: _checks.Axes
  batch_axis: _checks.Axes

  def variance(self, shape) -> float:
    """The per-entry variance this spec gives a kernel of ``shape``."""
    fans = compute_fans(shape, self.in_axis, self.out_axis, self.batch_axis)
    return self.scale / _denominator(self.mode, fans.fan_in, fans.fan_out)


def _denominator(mode: str, fan_in: int, fan_out: int) -> float:
  if mode == "fan_in":
    return fan_in
  if mode == "fan_out":
    return fan_out
  if mode == "fan_avg":
    return (fan_in + fan_out) / 2
  return (fan_in * fan_out) ** 0.5


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


def _draw_scaled(key, shape, dtype, distribution: str, variance: float, out_sharding):
  """Draws one variance-scaling sample exactly as jax does, in ``dtype``."""
  var = jnp.array(variance, dtype=dtype)
  if distribution == "truncated_normal":
    if not _checks.is_complex(dtype):
      stddev = jnp.sqrt(var) / jnp.array(TRUNCATED_STD, dtype)
      return jax.random.truncated_normal(key, -2, 2, shape, dtype, out_sharding=out_sharding) * stddev
    stddev = jnp.sqrt(var) / jnp.array(COMPLEX_TRUNCATED_STD, dtype)
    return _checks.place(_complex_truncated_normal(key, 2, shape, dtype) * stddev, out_sharding)
  if distribution == "normal":
    return jax.random.normal(key, shape, dtype, out_sharding=out_sharding) * jnp.sqrt(var)
  if not _checks.is_complex(dtype):
    return jax.random.uniform(key, shape, dtype, -1, out_sharding=out_sharding) * jnp.sqrt(3 * var)
  return _checks.place(_complex_uniform(key, shape, dtype) * jnp.sqrt(var), out_sharding)


def variance_scaling(scale, mode: Mode, distribution: Distribution, in_axis: _checks.Axes = -2,
                     out_axis: _checks.Axes = -1, batch_axis: _checks.Axes = (),
                     dtype=None) -> _checks.Initializer:
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
  ``float8_e4m3fn`` and its float8 samples have the wrong std.

  Args:
    scale: the variance multiplier (finite, > 0; may be a traced array).
    mode: ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``.
    distribution: ``"truncated_normal"``, ``"normal"`` or ``"uniform"``.
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.
    dtype: the initializer's default dtype.

  Returns:
    An initializer ``init(key, shape, dtype=None, out_sharding=None)``. Its ``spec``
    attribute (a :class:`VarianceSpec`) describes the draw.

  Raises:
    ValueError: a bad ``scale``, ``mode``, ``distribution`` or axis argument, here; a
      shape whose fans it cannot compute, or a zero fan, when called.
    TypeError: an integer or bool ``dtype``.

  Examples:
    >>> import jax, jaxinit
    >>> init = jaxinit.variance_scaling(2.0, "fan_in", "normal")
    >>> init(jax.random.key(0), (256, 128)).std().round(2)
    Array(0.09, dtype=float32)

  References:
    He et al., Delving Deep into Rectifiers, 2015.
  """
  where = "variance_scaling"
  if not isinstance(scale, jax.core.Tracer):
    _checks.check_positive(scale, "scale", where)
  _checks.check_choice(mode, "mode", MODES, where)
  _checks.check_choice(distribution, "distribution", DISTRIBUTIONS, where)
  spec = VarianceSpec(scale, mode, distribution,
                      _checks.check_axes(in_axis, "in_axis", where),
                      _checks.check_axes(out_axis, "out_axis", where),
                      _checks.check_axes(batch_axis, "batch_axis", where))
  default_dtype = _checks.check_dtype(dtype, where)

  def init(key, shape, dtype=default_dtype, out_sharding=None) -> jax.Array:
    shape = _checks.check_shape(shape, where)
    dtype = _checks.resolve_dtype(dtype, where)
    fans = compute_fans(shape, spec.in_axis, spec.out_axis, spec.batch_axis)
    if math.prod(shape) == 0:
      return jnp.zeros(shape, dtype, out_sharding=out_sharding)
    denominator = _denominator(mode, fans.fan_in, fans.fan_out)
    if denominator == 0:
      raise ValueError(f"{where}: mode={mode!r} gives a zero fan for shape={shape!r}")
    sample_dtype = _checks.sampling_dtype(dtype)
    out = _draw_scaled(key, shape, sample_dtype, distribution, scale / denominator, out_sharding)
    return out.astype(dtype)

  init.spec = spec
  return init


def _scheme(scale: float, mode: Mode, distribution: Distribution):
  def factory(in_axis: _checks.Axes = -2, out_axis: _checks.Axes = -1, batch_axis: _checks.Axes = (),
              dtype=None) -> _checks.Initializer:
    return variance_scaling(scale, mode, distribution, in_axis=in_axis, out_axis=out_axis,
                            batch_axis=batch_axis, dtype=dtype)
  return factory


def _named(factory, name: str, doc: str):
  factory.__name__ = factory.__qualname__ = name
  factory.__doc__ = doc
  return factory


_AXES_DOC = """
  Args:
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.
    dtype: the initializer's default dtype.

  Returns:
    An initializer (see :func:`variance_scaling`); same samples as jax's.
"""

glorot_uniform = _named(_scheme(1.0, "fan_avg", "uniform"), "glorot_uniform", """\
Builds a Glorot (Xavier) uniform initializer: U(+-sqrt(6 / (fan_in + fan_out))).

  ``variance_scaling(1.0, "fan_avg", "uniform")``; variance 2 / (fan_in + fan_out).
""" + _AXES_DOC + """
  References:
    Glorot & Bengio, Understanding the difficulty of training deep feedforward neural networks, 2010.
""")
glorot_normal = _named(_scheme(1.0, "fan_avg", "truncated_normal"), "glorot_normal", """\
Builds a Glorot (Xavier) normal initializer: variance 2 / (fan_in + fan_out).

  ``variance_scaling(1.0, "fan_avg", "truncated_normal")``, as in jax and Keras (PyTorch's
  ``xavier_normal_`` is untruncated: use ``variance_scaling(1.0, "fan_avg", "normal")``).
""" + _AXES_DOC + """
  References:
    Glorot & Bengio, Understanding the difficulty of training deep feedforward neural networks, 2010.
""")
lecun_uniform = _named(_scheme(1.0, "fan_in", "uniform"), "lecun_uniform", """\
Builds a LeCun uniform initializer: U(+-sqrt(3 / fan_in)), variance 1 / fan_in.
""" + _AXES_DOC + """
  References:
    LeCun et al., Efficient BackProp, 1998.
""")
lecun_normal = _named(_scheme(1.0, "fan_in", "truncated_normal"), "lecun_normal", """\
Builds a LeCun normal initializer: truncated normal with variance 1 / fan_in (SELU's init).
""" + _AXES_DOC + """
  References:
    Klambauer et al., Self-Normalizing Neural Networks, 2017.
""")
he_uniform = _named(_scheme(2.0, "fan_in", "uniform"), "he_uniform", """\
Builds a He (Kaiming) uniform initializer: U(+-sqrt(6 / fan_in)), variance 2 / fan_in.
""" + _AXES_DOC + """
  References:
    He et al., Delving Deep into Rectifiers, 2015.
""")
he_normal = _named(_scheme(2.0, "fan_in", "truncated_normal"), "he_normal", """\
Builds a He (Kaiming) normal initializer: truncated normal with variance 2 / fan_in.

  PyTorch's ``kaiming_normal_`` is untruncated: use ``variance_scaling(2.0, "fan_in", "normal")``.
""" + _AXES_DOC + """
  References:
    He et al., Delving Deep into Rectifiers, 2015.
""")
torch_default_kernel = _named(_scheme(1.0 / 3.0, "fan_in", "uniform"), "torch_default_kernel", """\
Builds PyTorch's default Linear/Conv weight init: U(+-1/sqrt(fan_in)), variance 1 / (3 fan_in).

  PyTorch spells it ``kaiming_uniform_(w, a=sqrt(5))``; here it is
  ``variance_scaling(1/3, "fan_in", "uniform")``. Pair it with :func:`torch_default_bias`.
""" + _AXES_DOC)

xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def torch_default_bias(fan_in: int, dtype=None) -> _checks.Initializer:
  """Builds PyTorch's default Linear/Conv bias init: U(+-1/sqrt(fan_in)) with the *weight's* fan_in.

  The bias's own shape says nothing about the layer's fan-in, so it is given here.

  Args:
    fan_in: the weight's fan-in (in_features, or in_channels * window size), > 0.
    dtype: the initializer's default dtype.

  Returns:
    An initializer of any shape.

  Raises:
    ValueError: ``fan_in`` not a positive int.

  Examples:
    >>> import jax, jaxinit
    >>> b = jaxinit.torch_default_bias(fan_in=256)(jax.random.key(0), (128,))
    >>> bool((abs(b) <= 1 / 16).all())
    True
  """
  where = "torch_default_bias"
  if isinstance(fan_in, bool) or not isinstance(fan_in, (int, np.integer)) or fan_in <= 0:
    raise ValueError(f"{where}: fan_in={fan_in!r} must be a positive int")
  default_dtype = _checks.check_dtype(dtype, where)
  bound = 1.0 / math.sqrt(int(fan_in))

  def init(key, shape, dtype=default_dtype, out_sharding=None) -> jax.Array:
    shape = _checks.check_shape(shape, where)
    dtype = _checks.resolve_dtype(dtype, where)
    if _checks.is_complex(dtype):
      raise TypeError(f"{where}: dtype={np.dtype(dtype).name!r} is complex; this scheme is real")
    sdt = _checks.sampling_dtype(dtype)
    x = jax.random.uniform(key, shape, sdt, -bound, bound, out_sharding=out_sharding)
    return x.astype(dtype)

  return init


# ---------------------------------------------------------------- plain distributions


def zeros(key, shape, dtype=None, out_sharding=None) -> jax.Array:
  """An initializer of zeros (``key`` is ignored). Zero weights make every unit identical: use for biases.

  Examples:
    >>> import jax, jaxinit
    >>> jaxinit.zeros(jax.random.key(0), (2,))
    Array([0., 0.], dtype=float32)
  """
  shape = _checks.check_shape(shape, "zeros")
  return jnp.zeros(shape, _checks.resolve_dtype(dtype, "zeros"), out_sharding=out_sharding)


def ones(key, shape, dtype=None, out_sharding=None) -> jax.Array:
  """An initializer of ones (``key`` is ignored).

  Examples:
    >>> import jax, jaxinit
    >>> jaxinit.ones(jax.random.key(0), (2,))
    Array([1., 1.], dtype=float32)
  """
  shape = _checks.check_shape(shape, "ones")
  return jnp.ones(shape, _checks.resolve_dtype(dtype, "ones"), out_sharding=out_sharding)


def constant(value, dtype=None) -> _checks.Initializer:
  """Builds an initializer filled with ``value``.

  Args:
    value: a finite scalar.
    dtype: the initializer's default dtype.

  Returns:
    An initializer.

  Raises:
    ValueError: a non-finite ``value``.

  Examples:
    >>> import jax, jaxinit
    >>> jaxinit.constant(-7.0)(jax.random.key(0), (2,))
    Array([-7., -7.], dtype=float32)
  """
  where = "constant"
  if not isinstance(value, jax.core.Tracer):
    _checks.check_finite(value, "value", where)
  default_dtype = _checks.check_dtype(dtype, where)

  def init(key, shape, dtype=default_dtype, out_sharding=None) -> jax.Array:
    shape = _checks.check_shape(shape, where)
    dtype = _checks.resolve_dtype(dtype, where)
    return _checks.place(jnp.full(shape, value, dtype=dtype), out_sharding)

  return init


def normal(stddev=1e-2, dtype=None) -> _checks.Initializer:
  """Builds an initializer of N(0, stddev^2) samples (jax's ``normal``, sample for sample).

  Args:
    stddev: the standard deviation, finite and > 0.
    dtype: the initializer's default dtype (complex gives a complex normal).

  Returns:
    An initializer.

  Raises:
    ValueError: a bad ``stddev``.

  Examples:
    >>> import jax, jaxinit
    >>> jaxinit.normal(1.0)(jax.random.key(0), (10_000,)).std().round(1)
    Array(1., dtype=float32)
  """
  where = "normal"
  if not isinstance(stddev, jax.core.Tracer):
    _checks.check_positive(stddev, "stddev", where)
  default_dtype = _checks.check_dtype(dtype, where)

  def init(key, shape, dtype=default_dtype, out_sharding=None) -> jax.Array:
    shape = _checks.check_shape(shape, where)
    dtype = _checks.resolve_dtype(dtype, where)
    sdt = _checks.sampling_dtype(dtype)
    x = jax.random.normal(key, shape, sdt, out_sharding=out_sharding) * jnp.array(stddev, sdt)
    return x.astype(dtype)

  return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0) -> _checks.Initializer:
  """Builds an initializer of N(0, 1) truncated to (lower, upper), times ``stddev`` (jax's, sample for sample).

  Like jax, ``stddev`` is the std *before* truncation; the samples' std is smaller
  (0.8796 stddev for the default bounds). The variance-scaling schemes correct for it.

  Args:
    stddev: the scale, finite and > 0.
    dtype: the initializer's default dtype (real).
    lower: lower bound in units of ``stddev``.
    upper: upper bound in units of ``stddev``; ``lower < upper``.

  Returns:
    An initializer.

  Raises:
    ValueError: a bad ``stddev``, or bounds not finite with ``lower < upper``.

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
  default_dtype = _checks.check_dtype(dtype, where)

  def init(key, shape, dtype=default_dtype, out_sharding=None) -> jax.Array:
    shape = _checks.check_shape(shape, where)
    dtype = _checks.resolve_dtype(dtype, where)
    if _checks.is_complex(dtype):
      raise TypeError(f"{where}: dtype={np.dtype(dtype).name!r} is complex; use variance_scaling")
    sdt = _checks.sampling_dtype(dtype)
    x = jax.random.truncated_normal(key, lower, upper, shape, sdt, out_sharding=out_sharding)
    return (x * jnp.array(stddev, sdt)).astype(dtype)

  return init


def uniform(scale=1e-2, dtype=None) -> _checks.Initializer:
  """Builds an initializer of U[0, scale) samples (jax's ``uniform``, sample for sample).

  Note the range is [0, scale), not symmetric: for a zero-mean uniform use
  ``variance_scaling(..., "uniform")``.

  Args:
    scale: the upper bound, finite and > 0.
    dtype: the initializer's default dtype (real).

  Returns:
    An initializer.

  Raises:
    ValueError: a bad ``scale``.

  Examples:
    >>> import jax, jaxinit
    >>> x = jaxinit.uniform(10.0)(jax.random.key(0), (1000,))
    >>> bool((x >= 0).all() and (x < 10).all())
    True
  """
  where = "uniform"
  if not isinstance(scale, jax.core.Tracer):
    _checks.check_positive(scale, "scale", where)
  default_dtype = _checks.check_dtype(dtype, where)

  def init(key, shape, dtype=default_dtype, out_sharding=None) -> jax.Array:
    shape = _checks.check_shape(shape, where)
    dtype = _checks.resolve_dtype(dtype, where)
    if _checks.is_complex(dtype):
      raise TypeError(f"{where}: dtype={np.dtype(dtype).name!r} is complex; use variance_scaling")
    sdt = _checks.sampling_dtype(dtype)
    x = jax.random.uniform(key, shape, sdt, out_sharding=out_sharding) * jnp.array(scale, sdt)
    return x.astype(dtype)

  return init
