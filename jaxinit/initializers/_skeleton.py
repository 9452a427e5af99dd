"""The one skeleton of every initializer: checks, dtypes, saturation, sharding and a description.

A scheme supplies only its sampling rule, ``draw(key, shape, dtype, out_sharding)``;
:func:`initializer` wraps it into jax's ``(key, shape, dtype=None, out_sharding=None)``
protocol.

Range rule (every initializer, every dtype): an initializer never returns a nan or an
inf. A value whose magnitude exceeds the requested dtype's largest finite value
saturates to ``+-finfo(dtype).max``; zeros stay zeros. Samples are computed in the
requested dtype when every scalar the scheme materialises (a std, a variance, a gain,
a constant) fits in it, which keeps them bit for bit equal to jax's; otherwise, and
always for float8 and float4, they are computed in float32 (a wider float where
needed and available) and rounded. A scalar too large for every float jax can
compute in (beyond float32's 3.4e38 without ``jax_enable_x64``) raises ``ValueError``
naming it and the dtype.
"""

from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit.core import _checks
from jaxinit.initializers._describe import OPAQUE, Description

Draw = Callable[[jax.Array, tuple[int, ...], np.dtype, object], jax.Array]
"""A sampling rule ``draw(key, shape, dtype, out_sharding) -> Array``, in the dtype or a wider one."""


def initializer(draw: Draw, *, where: str, dtype=None, description: Description = OPAQUE,
                real_only: bool = False, uses_key: bool = True) -> _checks.Initializer:
  """Wraps a sampling rule into an initializer ``init(key, shape, dtype=None, out_sharding=None)``.

  The returned function checks ``key`` (unless ``uses_key`` is False: the key is then
  ignored, as jax's constants ignore it) and ``shape``, resolves ``dtype`` (the
  factory's ``dtype`` is its default; None means jax's default float), calls
  ``draw(key, shape, dtype, out_sharding)`` with the requested dtype, saturates the
  result to the dtype's finite range, casts it and gives it ``out_sharding``.

  Args:
    draw: the sampling rule; it returns an array of ``shape`` in the requested dtype or
      a wider one of the same kind (see :func:`working_dtype`).
    where: the public name used in error messages.
    dtype: the factory's ``dtype=``, the default of the returned function.
    description: what the initializer draws, attached as ``init.description``.
    real_only: refuse complex dtypes (``TypeError`` at call time).
    uses_key: whether the draw is random (so ``key`` must be a PRNG key).

  Returns:
    The initializer, with its ``description`` attribute.

  Raises:
    TypeError: an integer or bool ``dtype`` (here or at call time), a complex one when
      ``real_only``, or a ``key`` that is not a single PRNG key.
    ValueError: a negative or non-integer ``shape`` entry, at call time.
  """
  default_dtype = _checks.check_dtype(dtype, where)

  def init(key, shape, dtype=default_dtype, out_sharding=None) -> jax.Array:
    if uses_key:
      _checks.check_key(key, where)
    shape = _checks.check_shape(shape, where)
    dtype = _checks.resolve_dtype(dtype, where)
    if real_only and _checks.is_complex(dtype):
      raise TypeError(f"{where}: dtype={dtype.name!r} is complex; this scheme is real")
    out = draw(key, shape, dtype, out_sharding)
    return _checks.place(saturate(out, dtype), out_sharding)

  init.__qualname__ = f"{where}.<locals>.init"
  init.description = description
  if description.spec is not None:  # the attribute variance-scaling initializers have always carried
    init.spec = description.spec
  return init


def _real_part(dtype: np.dtype) -> np.dtype:
  return np.dtype(np.array(0, dtype).real.dtype)


def _canonical(dtype: np.dtype) -> np.dtype:
  """The dtype jax computes in for ``dtype``: float64 is float32 unless ``jax_enable_x64`` is on."""
  return np.dtype(jax.dtypes.canonicalize_dtype(dtype))


def _largest(dtype: np.dtype) -> float:
  """The largest finite value of ``dtype`` (of its real part), as a Python float."""
  return float(jnp.finfo(_real_part(dtype)).max)


def _wider_dtypes(dtype: np.dtype) -> list[np.dtype]:
  """``dtype``, then float32 and (with x64) float64, or their complex counterparts."""
  complex_ = _checks.is_complex(dtype)
  wider = [np.dtype(np.complex64 if complex_ else np.float32)]
  if jax.dtypes.canonicalize_dtype(np.float64) == np.float64:  # jax_enable_x64 is on
    wider.append(np.dtype(np.complex128 if complex_ else np.float64))
  return [dtype] + [w for w in wider if jnp.finfo(w).bits > jnp.finfo(dtype).bits]


def _magnitude(value) -> float:
  """The largest absolute real or imaginary part of ``value``: what must fit in the dtype."""
  arr = np.asarray(value)
  if arr.size == 0:
    return 0.0
  return float(max(np.abs(arr.real).max(), np.abs(arr.imag).max() if np.iscomplexobj(arr) else 0.0))


def working_dtype(dtype: np.dtype, where: str, scalars: Mapping[str, object]) -> np.dtype:
  """The dtype a scheme computes in, given the scalars it materialises in that dtype.

  float8 and float4 compute in float32 (see :func:`jaxinit.core._checks.sampling_dtype`).
  Other dtypes compute in themselves when every concrete scalar fits (bit for bit with
  jax), else in the narrowest of float32 and float64 (with x64) that holds them. A traced
  scalar cannot be inspected: float16 then computes in float32.

  Args:
    dtype: the requested dtype.
    where: the public name used in error messages.
    scalars: each scalar (a number, an array, or a tracer) by a label naming the argument
      it comes from, e.g. ``{"stddev": 3.0}``.

  Returns:
    The dtype to compute in, of the same kind as ``dtype``.

  Raises:
    ValueError: a scalar beyond every available dtype's range, naming it and ``dtype``.
  """
  dtype = _canonical(dtype)
  candidates = _wider_dtypes(_checks.sampling_dtype(dtype))
  need = 0.0
  for label, value in scalars.items():
    if isinstance(value, jax.core.Tracer):
      need = max(need, _largest(np.dtype(jnp.bfloat16)))  # float16 computes in float32
      continue
    magnitude = _magnitude(value)
    if not any(magnitude <= _largest(c) for c in candidates):
      raise ValueError(f"{where}: {label}={magnitude:g} is beyond the range of {dtype.name} and of every "
                       f"float it can be computed in (largest finite {_largest(candidates[-1]):g})")
    need = max(need, magnitude)
  for candidate in candidates:
    if need <= _largest(candidate):
      return candidate
  return candidates[-1]


def saturate(x: jax.Array, dtype: np.dtype) -> jax.Array:
  """Clips ``x`` to ``+-finfo(dtype).max`` (real and imaginary parts apart) and casts it to ``dtype``.

  In-range values are unchanged bit for bit, so the clip costs jax parity nothing.
  """
  fmax = jnp.finfo(_real_part(_canonical(dtype))).max
  if _checks.is_complex(x.dtype):
    bound = jnp.array(fmax, x.real.dtype)
    x = jax.lax.complex(jnp.clip(x.real, -bound, bound), jnp.clip(x.imag, -bound, bound))
  else:
    bound = jnp.array(fmax, x.dtype)
    x = jnp.clip(x, -bound, bound)
  return x.astype(dtype)

