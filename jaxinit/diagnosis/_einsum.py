"""Initializers for Einsum kernels whose fans come from the einsum string."""

from collections.abc import Callable

import jax

from jaxinit import initializers
from jaxinit.core import _checks
from jaxinit.diagnosis._layers import einsum_axes

# the variance-scaling schemes that take in_axis / out_axis / batch_axis
AXIS_SCHEMES = ("glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "kaiming_normal", "kaiming_uniform",
                "lecun_normal", "lecun_uniform", "torch_default_kernel", "xavier_normal", "xavier_uniform")


def einsum_init(einsum_str: str, scheme: str | Callable = "lecun_normal", dtype=None) -> _checks.Initializer:
  """Builds a variance-scaling initializer for an Einsum kernel, with fans read from the einsum string.

  Kernel axes contracted with the inputs are fan-in, axes only in the output are fan-out, and axes
  shared by inputs and output are batch axes (see :func:`jaxinit.diagnosis.einsum_axes`). Flax's
  default ``lecun_normal()`` takes the last two axes as (in, out) and every other axis as a receptive
  field: for the ``qkv_einsum`` kernel ``(3, heads, features, head_dim)`` of ``"BTD,SNDH->SBTNH"`` it
  draws with ``fan_in = 3 * heads * features`` (std 0.036 at heads 4, features 64) where the layer's
  fan-in is ``features`` (std 0.125).

  Args:
    einsum_str: the layer's einsum, inputs first and kernel second, e.g. ``"BTD,SNDH->SBTNH"``.
    scheme: the name of a variance-scaling scheme (``lecun_normal``, ``he_normal``, ``glorot_uniform``,
      ...), or a factory called as ``scheme(in_axis=..., out_axis=..., batch_axis=..., dtype=...)``
      (e.g. ``functools.partial(jaxinit.for_activation, "gelu")``).
    dtype: the initializer's default dtype.

  Returns:
    An initializer; calling it with a shape whose rank differs from the kernel subscripts raises
    ``ValueError``.

  Raises:
    ValueError: an einsum string :func:`jaxinit.diagnosis.einsum_axes` rejects, or an unknown scheme.

  Examples:
    >>> import jax, jaxinit
    >>> init = jaxinit.einsum_init("BTD,SNDH->SBTNH", "lecun_normal")
    >>> kernel = init(jax.random.key(0), (3, 4, 64, 16))
    >>> round(float(kernel.std()) * 8, 1)  # 1 / sqrt(features) = 1 / 8
    1.0

  References:
    LeCun et al., Efficient BackProp, 1998.
  """
  where = "einsum_init"
  try:
    axes = einsum_axes(einsum_str)
  except ValueError as err:
    raise ValueError(f"{where}: {err}") from None
  rank = len(einsum_str.replace(" ", "").split("->")[0].split(",")[1])
  if isinstance(scheme, str):
    if scheme not in AXIS_SCHEMES:
      raise ValueError(f"{where}: scheme={scheme!r} is not a variance-scaling scheme; expected one of "
                       f"{', '.join(AXIS_SCHEMES)} or a factory taking in_axis, out_axis, batch_axis")
    factory = getattr(initializers, scheme)
  elif callable(scheme):
    factory = scheme
  else:
    raise ValueError(f"{where}: scheme={scheme!r} must be a scheme name or a factory")
  inner = factory(in_axis=axes.in_axis, out_axis=axes.out_axis, batch_axis=axes.batch_axis, dtype=dtype)

  def init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array:
    shape = _checks.check_shape(shape, where)
    if len(shape) != rank:
      raise ValueError(f"{where}: shape={shape!r} has rank {len(shape)} but einsum_str={einsum_str!r} names "
                       f"{rank} kernel axes")
    return inner(key, shape, dtype, out_sharding)

  init.spec = getattr(inner, "spec", None)
  init.einsum_str = einsum_str
  return init
