"""Structured schemes: orthogonal, delta-orthogonal, identity, dirac, sparse."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from jaxinit.core import _checks
from jaxinit.initializers import _skeleton
from jaxinit.initializers._describe import Description

# dtypes jax's QR handles; other floats are orthogonalised in float32 and rounded.
_QR_DTYPES = tuple(np.dtype(d) for d in ("float32", "float64", "complex64", "complex128"))


def _orthogonal_matrix(key, shape, dtype, column_axis: int, scale):
  """jax's construction: a Haar-random matrix with orthonormal rows or columns, reshaped."""
  n_rows, n_cols = math.prod(shape) // shape[column_axis], shape[column_axis]
  q = jax.random.orthogonal(key, n_rows, (), dtype, n_cols)
  q = jnp.reshape(q, tuple(np.delete(shape, column_axis)) + (shape[column_axis],))
  q = jnp.moveaxis(q, -1, column_axis)
  return jnp.array(scale, dtype) * q


def _orthogonal_rule(scale, column_axis: int, where: str) -> _skeleton.Draw:
  def draw(key, shape, dtype, out_sharding):
    if len(shape) < 2:
      raise ValueError(f"{where}: shape={shape!r} has rank {len(shape)}; orthogonal needs rank >= 2")
    if not -len(shape) <= column_axis < len(shape):
      raise ValueError(f"{where}: column_axis={column_axis} is out of range for shape={shape!r}")
    if math.prod(shape) == 0:
      return jnp.zeros(shape, dtype)
    work = _skeleton.working_dtype(dtype, where, {"scale": scale})
    work = work if work in _QR_DTYPES else np.dtype(np.float32)
    return _orthogonal_matrix(key, shape, work, column_axis, scale)
  return draw


def _check_column_axis(column_axis, where: str) -> int:
  column_axis = _checks.check_axes(column_axis, "column_axis", where)
  if not isinstance(column_axis, int):
    raise ValueError(f"{where}: column_axis={column_axis!r} must be an int")
  return column_axis


def orthogonal(scale=1.0, column_axis: int = -1, dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds an initializer of (scaled) Haar-random orthogonal matrices.

  The kernel is viewed as a matrix whose columns lie along ``column_axis`` and whose
  rows are all other axes flattened; it has orthonormal columns if it is tall and
  orthonormal rows if it is wide, times ``scale``. Same samples as jax in float32,
  float64 and complex; bfloat16, float16 and float8 kernels (where jax raises) are
  built in float32 and rounded, and ``out_sharding`` is honoured (jax raises). Entries
  beyond the dtype's range saturate to its largest finite value.

  Args:
    scale: the multiplier (finite, > 0), e.g. a gain from :func:`gain`.
    column_axis: the axis holding the orthonormal columns.
    dtype: the initializer's default dtype.

  Returns:
    An initializer.

  Raises:
    ValueError: a bad ``scale`` here; a rank below 2 or ``column_axis`` out of range
      at call time.
    TypeError: an integer or bool ``dtype``; a ``key`` that is not a PRNG key.

  Examples:
    >>> import jax, jax.numpy as jnp, jaxinit
    >>> w = jaxinit.orthogonal()(jax.random.key(0), (4, 4))
    >>> bool(jnp.allclose(w.T @ w, jnp.eye(4), atol=1e-5))
    True

  References:
    Saxe et al., Exact solutions to the nonlinear dynamics of learning in deep linear neural networks, 2014.
  """
  where = "orthogonal"
  if not isinstance(scale, jax.core.Tracer):
    _checks.check_positive(scale, "scale", where)
  rule = _orthogonal_rule(scale, _check_column_axis(column_axis, where), where)
  description = Description("orthogonal", scale=scale)
  return _skeleton.initializer(rule, where=where, dtype=dtype, description=description)


def delta_orthogonal(scale=1.0, column_axis: int = -1, dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds a delta-orthogonal convolution initializer.

  The kernel ``(*window, in, out)`` (1-, 2- or 3-D window) is zero except at the
  window's centre tap ``(k - 1) // 2`` per axis, which holds an orthogonal
  ``(in, out)`` matrix times ``scale``: the convolution is an orthogonal map at
  initialisation (with 'SAME' padding, exactly so). Same samples as jax in float32
  and float64; other dtypes and ``out_sharding`` work too.

  Args:
    scale: the multiplier (finite, > 0).
    column_axis: passed to :func:`orthogonal` for the centre matrix.
    dtype: the initializer's default dtype.

  Returns:
    An initializer.

  Raises:
    ValueError: a bad ``scale`` here; at call time a rank other than 3, 4 or 5, an
      empty window, or ``in > out`` (the centre cannot then be an isometry).
    TypeError: an integer or bool ``dtype``; a ``key`` that is not a PRNG key.

  Examples:
    >>> import jax, jaxinit
    >>> w = jaxinit.delta_orthogonal()(jax.random.key(0), (3, 3, 8, 8))
    >>> float(abs(w[0, 0]).max()), w[1, 1].shape
    (0.0, (8, 8))

  References:
    Xiao et al., Dynamical Isometry and a Mean Field Theory of CNNs, 2018.
  """
  where = "delta_orthogonal"
  if not isinstance(scale, jax.core.Tracer):
    _checks.check_positive(scale, "scale", where)
  centre_matrix = _orthogonal_rule(scale, _check_column_axis(column_axis, where), where)

  def draw(key, shape, dtype, out_sharding):
    if len(shape) not in (3, 4, 5):
      raise ValueError(f"{where}: shape={shape!r} has rank {len(shape)}; expected a 1-, 2- or 3-D "
                       "convolution kernel (*window, in, out) of rank 3, 4 or 5")
    if any(k == 0 for k in shape[:-2]):
      raise ValueError(f"{where}: shape={shape!r} has an empty window; there is no centre tap")
    if shape[-1] < shape[-2]:
      raise ValueError(f"{where}: shape={shape!r} has in={shape[-2]} > out={shape[-1]}; "
                       "delta-orthogonal needs in <= out")
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    matrix = _skeleton.saturate(centre_matrix(key, shape[-2:], dtype, None), dtype)  # jax rounds it first
    return jnp.zeros(shape, dtype).at[centre].set(matrix)

  return _skeleton.initializer(draw, where=where, dtype=dtype)


def identity(gain=1.0, dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds an initializer of ``gain`` times the identity matrix (PyTorch's ``eye_``).

  For a non-square ``(in, out)`` kernel the ones sit on the main diagonal: the layer
  copies the first ``min(in, out)`` inputs to the first outputs. The key is ignored.
  A ``gain`` beyond the dtype's range saturates on the diagonal and the rest stays zero
  (``identity(1e5)`` in float16 has 65504 on its diagonal).

  Args:
    gain: the multiplier (finite, > 0).
    dtype: the initializer's default dtype.

  Returns:
    An initializer of 2-D kernels.

  Raises:
    ValueError: a bad ``gain`` here; a rank other than 2 at call time.
    TypeError: an integer or bool ``dtype``.

  Examples:
    >>> import jax, jaxinit
    >>> jaxinit.identity(2.0)(jax.random.key(0), (2, 3))
    Array([[2., 0., 0.],
           [0., 2., 0.]], dtype=float32)
  """
  where = "identity"
  if not isinstance(gain, jax.core.Tracer):
    _checks.check_positive(gain, "gain", where)

  def draw(key, shape, dtype, out_sharding):
    if len(shape) != 2:
      raise ValueError(f"{where}: shape={shape!r} has rank {len(shape)}; identity needs a 2-D kernel")
    work = _skeleton.working_dtype(dtype, where, {"gain": gain})
    # a select, not a product: off the diagonal 0 * gain is nan when gain overflows
    return jnp.where(jnp.eye(*shape, dtype=bool), jnp.array(gain, work), jnp.zeros((), work))

  return _skeleton.initializer(draw, where=where, dtype=dtype, uses_key=False)


def dirac(groups: int = 1, dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds an identity-convolution initializer (PyTorch's ``dirac_``) in Flax's layout.

  The kernel ``(*window, in, out)`` is zero except ``w[centre, i, g * out_g + i] = 1``
  for each group ``g`` and ``i < min(in, out_g)``, ``out_g = out // groups`` (with
  ``feature_group_count=groups`` Flax's kernel has ``in`` = channels per group).

  The centre index is ``(k - 1) // 2`` per window axis: with 'SAME' padding (lax pads
  ``(k - 1) // 2`` before) that makes the convolution an exact identity on the
  preserved channels. PyTorch's ``dirac_`` uses ``k // 2`` with layout
  ``(out, in, *window)``: the two agree for odd ``k`` and differ by one tap for
  even ``k``, where torch's choice matches its symmetric ``padding=k // 2``.

  Args:
    groups: number of groups, >= 1; ``out`` must be divisible by it.
    dtype: the initializer's default dtype.

  Returns:
    An initializer of rank-3, -4 or -5 kernels.

  Raises:
    ValueError: a bad ``groups`` here; at call time a rank other than 3, 4 or 5, an
      empty window, or ``out`` not divisible by ``groups``.
    TypeError: an integer or bool ``dtype``.

  Examples:
    >>> import jax, jax.numpy as jnp, jaxinit
    >>> w = jaxinit.dirac()(jax.random.key(0), (3, 3, 4, 4))
    >>> x = jnp.ones((1, 5, 5, 4))
    >>> y = jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    >>> bool(jnp.array_equal(x, y))
    True
  """
  where = "dirac"
  if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
    raise ValueError(f"{where}: groups={groups!r} must be a positive int")

  def draw(key, shape, dtype, out_sharding):
    if len(shape) not in (3, 4, 5):
      raise ValueError(f"{where}: shape={shape!r} has rank {len(shape)}; expected a convolution "
                       "kernel (*window, in, out) of rank 3, 4 or 5")
    if any(k == 0 for k in shape[:-2]):
      raise ValueError(f"{where}: shape={shape!r} has an empty window; there is no centre tap")
    n_in, n_out = shape[-2:]
    if n_out % groups:
      raise ValueError(f"{where}: groups={groups} does not divide out={n_out} of shape={shape!r}")
    out_g = n_out // groups
    m = np.zeros((n_in, n_out), dtype=np.float32)
    for g in range(groups):
      for i in range(min(n_in, out_g)):
        m[i, g * out_g + i] = 1.0
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    work = _checks.sampling_dtype(dtype)
    return jnp.zeros(shape, work).at[centre].set(jnp.asarray(m, work))

  return _skeleton.initializer(draw, where=where, dtype=dtype, uses_key=False)


def sparse(sparsity, stddev=0.01, dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds Martens' sparse initializer: each output unit has exactly ``ceil(sparsity * fan_in)`` zero inputs.

  Non-zero weights are N(0, stddev^2). A kernel ``(..., out)`` is viewed as
  ``(fan_in, out)`` with all leading axes flattened (so a conv kernel
  ``(*window, in, out)`` zeroes a fraction of each filter's taps). The entries'
  variance is ``(1 - n_zero / fan_in) * stddev^2``. PyTorch's ``sparse_`` zeroes
  per column of its ``(out, in)`` weight, i.e. per *input* unit; this follows the
  paper (per unit, incoming weights).

  Args:
    sparsity: the fraction of zeros per output unit, in [0, 1).
    stddev: std of the non-zero weights, finite and > 0.
    dtype: the initializer's default dtype (real).

  Returns:
    An initializer.

  Raises:
    ValueError: a bad ``sparsity`` or ``stddev`` here; a rank below 2 at call time.
    TypeError: an integer, bool or (at call time) complex ``dtype``; a bad ``key``.

  Examples:
    >>> import jax, jaxinit
    >>> w = jaxinit.sparse(0.75)(jax.random.key(0), (8, 3))
    >>> (w == 0).sum(axis=0)
    Array([6, 6, 6], dtype=int32)

  References:
    Martens, Deep learning via Hessian-free optimization, 2010.
  """
  where = "sparse"
  _checks.check_finite(sparsity, "sparsity", where)
  if not 0.0 <= float(sparsity) < 1.0:
    raise ValueError(f"{where}: sparsity={sparsity!r} must be in [0, 1); 1 leaves every weight zero")
  _checks.check_positive(stddev, "stddev", where)

  def draw(key, shape, dtype, out_sharding):
    if len(shape) < 2:
      raise ValueError(f"{where}: shape={shape!r} has rank {len(shape)}; sparse needs rank >= 2")
    fan_in, n_out = math.prod(shape[:-1]), shape[-1]
    n_zero = math.ceil(float(sparsity) * fan_in)
    key_w, key_mask = jax.random.split(key)
    work = _skeleton.working_dtype(dtype, where, {"stddev": stddev})
    w = jax.random.normal(key_w, (fan_in, n_out), work) * jnp.array(stddev, work)
    # ranks of i.i.d. uniforms down each column are a uniform random permutation
    ranks = jnp.argsort(jnp.argsort(jax.random.uniform(key_mask, (fan_in, n_out)), axis=0), axis=0)
    return jnp.where(ranks < n_zero, jnp.zeros((), work), w).reshape(shape)

  return _skeleton.initializer(draw, where=where, dtype=dtype, real_only=True)
