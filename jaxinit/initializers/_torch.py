"""PyTorch's default Linear/Conv initialization: kernel and bias."""

import math
import numbers

import jax
from jax.typing import DTypeLike

from jaxinit.core import _checks
from jaxinit.initializers import _skeleton
from jaxinit.initializers._variance_scaling import build_variance_scaling


def torch_default_kernel(in_axis: _checks.Axes = -2, out_axis: _checks.Axes = -1,
                         batch_axis: _checks.Axes = (),
                         dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds PyTorch's default Linear/Conv weight init: U(-1/sqrt(fan_in), +1/sqrt(fan_in)).

  Variance 1 / (3 fan_in). PyTorch spells it ``kaiming_uniform_(w, a=sqrt(5))``; here it
  is ``variance_scaling(1/3, "fan_in", "uniform")``. Pair it with :func:`torch_default_bias`.

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
    >>> w = jaxinit.torch_default_kernel()(jax.random.key(0), (3, 3, 16, 8))
    >>> bool(abs(w).max() <= 1 / 12)
    True

  References:
    He et al., Delving Deep into Rectifiers, 2015.
  """
  return build_variance_scaling(1.0 / 3.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype,
                                "torch_default_kernel")


def torch_default_bias(fan_in: int, dtype: DTypeLike | None = None) -> _checks.Initializer:
  """Builds PyTorch's default Linear/Conv bias init: U(+-1/sqrt(fan_in)) with the *weight's* fan_in.

  The bias's own shape says nothing about the layer's fan-in, so it is given here.
  Variance 1 / (3 fan_in).

  Args:
    fan_in: the weight's fan-in (in_features, or in_channels * window size), > 0.
    dtype: the initializer's default dtype (real).

  Returns:
    An initializer of any shape.

  Raises:
    ValueError: ``fan_in`` not a positive int.
    TypeError: an integer, bool or (at call time) complex ``dtype``; a bad ``key``.

  Examples:
    >>> import jax, jaxinit
    >>> b = jaxinit.torch_default_bias(fan_in=256)(jax.random.key(0), (128,))
    >>> bool((abs(b) <= 1 / 16).all())
    True
  """
  where = "torch_default_bias"
  if isinstance(fan_in, bool) or not isinstance(fan_in, numbers.Integral) or fan_in <= 0:
    raise ValueError(f"{where}: fan_in={fan_in!r} must be a positive int")
  bound = 1.0 / math.sqrt(int(fan_in))

  def draw(key, shape, dtype, out_sharding):
    work = _checks.sampling_dtype(dtype)
    return jax.random.uniform(key, shape, work, -bound, bound, out_sharding=out_sharding)

  return _skeleton.initializer(draw, where=where, dtype=dtype, real_only=True)
