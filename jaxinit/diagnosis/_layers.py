"""What a parametrised layer is: its kind, its kernel, and fans from its real layout (not the last two axes).

Flax layers store kernels in several layouts: dense ``(in, out)``, convolution ``(*window, in / groups, out)``,
``LinearGeneral`` / ``DenseGeneral`` ``(*batch, *in, *out)``, an ``Einsum`` kernel whose axes are named by the
einsum string, and ``Embed`` ``(vocab, features)``. A layer whose layout cannot be read says so in ``note``.
"""

import math
from typing import NamedTuple

from flax import linen as nn
from flax import nnx

from jaxinit.initializers import Fans, compute_fans

NORM_KINDS = ("LayerNorm", "RMSNorm", "BatchNorm", "GroupNorm", "InstanceNorm")


class EinsumAxes(NamedTuple):
  """Kernel axes of an einsum by role: contracted (fan_in), produced (fan_out), shared with input and output."""
  in_axis: tuple[int, ...]
  out_axis: tuple[int, ...]
  batch_axis: tuple[int, ...]


class Layout(NamedTuple):
  """A layer's kind, the parameter judged as its kernel, and its fans (None when they cannot be inferred)."""
  kind: str
  param: str | None
  shape: tuple[int, ...] | None
  fans: Fans | None
  in_axis: tuple[int, ...] = ()
  out_axis: tuple[int, ...] = ()
  batch_axis: tuple[int, ...] = ()
  note: str = ""


def einsum_axes(einsum_str: str, kernel_rank: int | None = None) -> EinsumAxes:
  """Splits the kernel axes of ``"inputs,kernel->output"`` into fan-in, fan-out and batch axes.

  A kernel letter that also appears in the inputs but not in the output is contracted (fan-in);
  one in the output but not the inputs is produced (fan-out); one in both is a batch axis (a
  stack of independent kernels) and counts in neither fan.

  Args:
    einsum_str: the einsum of the layer, inputs first and kernel second, e.g. ``"BTD,SNDH->SBTNH"``.
    kernel_rank: the kernel's rank, checked against the kernel's subscripts when given.

  Returns:
    ``EinsumAxes(in_axis, out_axis, batch_axis)``, tuples of kernel axis indices.

  Raises:
    ValueError: a string that is not ``"x,k->y"`` with letters only, a repeated kernel letter, a
      kernel letter in neither the inputs nor the output, or a rank mismatch.

  Examples:
    >>> from jaxinit.diagnosis import einsum_axes
    >>> einsum_axes("BTD,SNDH->SBTNH")
    EinsumAxes(in_axis=(2,), out_axis=(0, 1, 3), batch_axis=())
  """
  text = einsum_str.replace(" ", "") if isinstance(einsum_str, str) else einsum_str
  if not isinstance(text, str) or text.count("->") != 1 or text.split("->")[0].count(",") != 1:
    raise ValueError(f"einsum_str={einsum_str!r} must have the form 'inputs,kernel->output'")
  lhs, out = text.split("->")
  inputs, kernel = lhs.split(",")
  if not (inputs.isalpha() and kernel.isalpha() and (out.isalpha() or out == "")):
    raise ValueError(f"einsum_str={einsum_str!r}: only letters are supported (no '...')")
  if len(set(kernel)) != len(kernel):
    raise ValueError(f"einsum_str={einsum_str!r}: the kernel subscripts {kernel!r} repeat a letter")
  if kernel_rank is not None and len(kernel) != kernel_rank:
    raise ValueError(f"einsum_str={einsum_str!r}: the kernel subscripts {kernel!r} name {len(kernel)} axes "
                     f"but the kernel has rank {kernel_rank}")
  ins, outs, batch = [], [], []
  for axis, letter in enumerate(kernel):
    in_inputs, in_output = letter in inputs, letter in out
    if in_inputs and in_output:
      batch.append(axis)
    elif in_inputs:
      ins.append(axis)
    elif in_output:
      outs.append(axis)
    else:
      raise ValueError(f"einsum_str={einsum_str!r}: kernel letter {letter!r} is in neither the inputs nor the "
                       "output (summed out), so the kernel has no fan layout")
  return EinsumAxes(tuple(ins), tuple(outs), tuple(batch))


def _fans(kind: str, param: str, shape, ins, outs, batch=(), note="") -> Layout:
  fans = compute_fans(shape, ins, outs, batch)
  return Layout(kind, param, tuple(shape), fans, tuple(ins), tuple(outs), tuple(batch), note)


def _general(kind, param, shape, n_batch: int, n_in: int) -> Layout:
  rank = len(shape)
  return _fans(kind, param, shape, tuple(range(n_batch, n_batch + n_in)), tuple(range(n_batch + n_in, rank)),
               tuple(range(n_batch)))


def _conv_transpose(kind, param, shape, strides) -> Layout:
  window = shape[:-2]
  strides = (strides,) * len(window) if isinstance(strides, int) else tuple(strides or (1,) * len(window))
  if any(k % s for k, s in zip(window, strides, strict=False)):
    return Layout(kind, param, tuple(shape), None,
                  note=f"transposed conv: window {window} is not a multiple of strides {strides}")
  taps = math.prod(k // s for k, s in zip(window, strides, strict=False))
  fans = Fans(shape[-2] * taps, shape[-1] * taps, taps)
  return Layout(kind, param, tuple(shape), fans, (len(shape) - 2,), (len(shape) - 1,), (),
                "transposed conv: fans count window / stride taps per output")


def _custom(kind: str, params: dict, in_dim: int | None, out_dim: int | None) -> Layout:
  """A module of another kind: its largest parameter of rank 2 or more is the kernel."""
  matrices = {name: tuple(shape) for name, shape in params.items() if len(shape) >= 2}
  if not matrices:
    return Layout(kind, None, None, None, note="no kernel (no parameter of rank >= 2)")
  name = "kernel" if "kernel" in matrices else max(matrices, key=lambda n: math.prod(matrices[n]))
  shape = matrices[name]
  if len(shape) == 2 and (shape[0], shape[1]) == (in_dim, out_dim):
    return _fans(kind, name, shape, (0,), (1,), (), "layout (in, out) read from the call's input and output")
  return Layout(kind, name, shape, None,
                note=f"fans unknown: {kind} is not a known layer and its kernel {shape} does not map the "
                     f"call's last input axis ({in_dim}) to its last output axis ({out_dim})")


def layout(module, params: dict, in_dim: int | None = None, out_dim: int | None = None,
           einsum_str: str | None = None) -> Layout:
  """The layout of ``module`` (an nnx module or a bound linen module) whose direct parameters have ``params`` shapes."""
  kind = type(module).__name__
  kernel = params.get("kernel")
  try:
    if isinstance(module, (nnx.Einsum, nn.Einsum)):
      spec = einsum_str or getattr(module, "einsum_str", None)
      if spec is None:
        return Layout(kind, "kernel", tuple(kernel), None, note="fans unknown: no einsum string")
      axes = einsum_axes(spec, len(kernel))
      return _fans(kind, "kernel", kernel, *axes, note=f"einsum {spec!r}")
    if isinstance(module, (nnx.Embed, nn.Embed)):
      return _fans(kind, "embedding", params["embedding"], (0,), (1,), (), "lookup table (vocab, features)")
    if isinstance(module, (nnx.ConvTranspose, nn.ConvTranspose)):
      return _conv_transpose(kind, "kernel", kernel, module.strides)
    if isinstance(module, (nnx.LinearGeneral, nn.DenseGeneral)):
      n_in = len(module.axis) if isinstance(module.axis, (tuple, list)) else 1
      n_batch = len(module.batch_axis) if isinstance(module, nnx.LinearGeneral) else len(module.batch_dims)
      return _general(kind, "kernel", kernel, n_batch, n_in)
    if isinstance(module, (nnx.Linear, nn.Dense, nnx.Conv, nn.Conv)):
      return _fans(kind, "kernel", kernel, (len(kernel) - 2,), (len(kernel) - 1,))
  except ValueError as err:
    return Layout(kind, "kernel" if kernel is not None else None, None if kernel is None else tuple(kernel), None,
                  note=f"fans unknown: {err}")
  if kind in NORM_KINDS or any(isinstance(module, t) for t in (nnx.LayerNorm, nnx.RMSNorm, nnx.BatchNorm,
                                                                nnx.GroupNorm, nn.LayerNorm, nn.RMSNorm,
                                                                nn.BatchNorm, nn.GroupNorm)):
    name = "scale" if "scale" in params else next(iter(params), None)
    return Layout(kind, name, None if name is None else tuple(params[name]), None, note="normalisation layer")
  return _custom(kind, params, in_dim, out_dim)
