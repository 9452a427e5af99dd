"""Fan-in and fan-out of a kernel from its static shape."""

import math
from typing import NamedTuple

from jaxinit.core import _checks


class Fans(NamedTuple):
  """Effective input and output sizes of a kernel, as Python ints."""
  fan_in: int
  fan_out: int
  receptive_field: int


def _normalize(axes: _checks.Axes, rank: int, name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
  axes_t = (axes,) if isinstance(axes, int) else tuple(axes)
  out = []
  for a in axes_t:
    if not -rank <= a < rank:
      raise ValueError(f"compute_fans: {name}={axes!r} is out of range for shape={shape!r} (rank {rank})")
    out.append(a % rank)
  if len(set(out)) != len(out):
    raise ValueError(f"compute_fans: {name}={axes!r} names an axis twice")
  return tuple(out)


def compute_fans(shape, in_axis: _checks.Axes = -2, out_axis: _checks.Axes = -1,
                 batch_axis: _checks.Axes = ()) -> Fans:
  """Computes fan-in, fan-out and receptive field of a kernel.

  Axes not named by ``in_axis``, ``out_axis`` or ``batch_axis`` form the receptive
  field (a convolution's window):
  ``fan_in = prod(shape[in_axis]) * receptive_field``,
  ``fan_out = prod(shape[out_axis]) * receptive_field``. Batch axes (a stack of
  independent kernels) count in neither.

  Args:
    shape: the kernel's shape: dense ``(in, out)``, convolution ``(*window, in, out)``,
      or any layout described by the axis arguments.
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.

  Returns:
    ``Fans(fan_in, fan_out, receptive_field)`` as Python ints.

  Raises:
    ValueError: a rank below 2 with the default axes, an axis out of range, or an
      axis named twice (in one argument or across arguments).

  Examples:
    >>> import jaxinit
    >>> jaxinit.compute_fans((3, 3, 16, 32))
    Fans(fan_in=144, fan_out=288, receptive_field=9)
  """
  shape = _checks.check_shape(shape, "compute_fans")
  rank = len(shape)
  if rank < 2 and in_axis == -2 and out_axis == -1:
    raise ValueError(
        f"compute_fans: shape={shape!r} has rank {rank}; fan-based schemes need rank >= 2 "
        "(dense (in, out) or conv (*window, in, out)) or explicit in_axis/out_axis")
  ins = _normalize(_checks.check_axes(in_axis, "in_axis", "compute_fans"), rank, "in_axis", shape)
  outs = _normalize(_checks.check_axes(out_axis, "out_axis", "compute_fans"), rank, "out_axis", shape)
  batch = _normalize(_checks.check_axes(batch_axis, "batch_axis", "compute_fans"), rank, "batch_axis", shape)
  named = ins + outs + batch
  if len(set(named)) != len(named):
    raise ValueError(f"compute_fans: in_axis={in_axis!r}, out_axis={out_axis!r} and "
                     f"batch_axis={batch_axis!r} overlap for shape={shape!r}")
  receptive = math.prod(d for i, d in enumerate(shape) if i not in named)
  fan_in = math.prod(shape[i] for i in ins) * receptive
  fan_out = math.prod(shape[i] for i in outs) * receptive
  return Fans(fan_in, fan_out, receptive)
