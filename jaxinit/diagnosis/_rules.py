"""The warnings: each rule reads the rows (and residual streams) and names the layer, the numbers and a fix."""

import functools
import math
import re
from typing import NamedTuple

from jaxinit.diagnosis import _schemes
from jaxinit.diagnosis._result import DiagnosisWarning, LayerRow
from jaxinit.initializers import compute_fans
from jaxinit.initializers import gain as _gain


@functools.lru_cache(maxsize=64)
def gain(activation: str) -> float:
  """jaxinit.gain, cached: smooth activations need a quadrature, and every layer asks again."""
  return _gain(activation)


class Thresholds(NamedTuple):
  """When a number becomes a warning."""
  drift: float = 10.0  # max / min forward (or gradient) scale across layers
  # fraction of units that never fire on the batch, before a rectifier; deep He/ReLU nets reach about 0.5 at
  # init because their inputs become correlated with depth, so only a larger fraction is called dead
  dead: float = 0.8
  kernel_std: float = 2.0  # kernel std / variance-preserving std outside [1 / this, this]
  residual: float = 0.5  # stream variance growth / number of blocks


class Stream(NamedTuple):
  """A run of residual blocks under one parent, with the stream's variance before and after each block."""
  parent: str
  blocks: tuple[str, ...]
  variances: tuple[float, ...]  # len(blocks) + 1


def _axes_text(row: LayerRow, layout) -> str:
  if layout is None or row.kernel_shape is None:
    return ""
  default = (len(row.kernel_shape) - 2,), (len(row.kernel_shape) - 1,), ()
  if (layout.in_axis, layout.out_axis, layout.batch_axis) == default:
    return ""
  text = f", in_axis={layout.in_axis}, out_axis={layout.out_axis}"
  return text + (f", batch_axis={layout.batch_axis}" if layout.batch_axis else "")


def init_fix(activation: str | None, axes: str = "") -> str:
  """The kernel_init that preserves variance after ``activation`` (LeCun for a linear or unknown input)."""
  if activation in (None, "identity"):
    return f"kernel_init=jaxinit.lecun_normal({axes.lstrip(', ')})"
  return f"kernel_init=jaxinit.for_activation({activation!r}{axes})"


def _common_activation(rows) -> str | None:
  acts = {r.activation_in for r in rows if r.activation_in not in (None, "identity")}
  return acts.pop() if len(acts) == 1 else None


def non_finite(rows, _layouts, _t):
  """The first layer whose kernel or output is not finite; else the last whose gradients are not (they flow back)."""
  forward = [r for r in rows if {"kernel", "output"} & set(r.non_finite)]
  backward = [r for r in rows if r.non_finite]
  if not backward:
    return []
  culprit = forward[0] if forward else backward[-1]
  return [DiagnosisWarning(
      "non_finite", culprit.path,
      f"{', '.join(culprit.non_finite)} of this layer hold inf or nan ({len(backward)} layers affected; "
      f"weight std {culprit.weight_std}, output std {culprit.out_std}).",
      "check the input and the kernel scale; jaxinit.calibrate(model, x) rescales kernels to unit output variance.")]


def zero_and_identical(rows, layouts, _t):
  out = []
  for r in rows:
    if r.identical_units is None or r.kernel_shape is None or not r.finite:
      continue
    grad_symmetric = r.grad_kernel_std == 0 or r.grad_kernel_std is None or (r.identical_grad or 0) > 0
    axes = _axes_text(r, layouts[r.index])
    fix = init_fix(r.activation_in, axes)
    if r.weight_std == 0 and r.weight_mean == 0 and grad_symmetric:
      out.append(DiagnosisWarning(
          "zero_variance", r.path,
          f"kernel {r.kernel_shape} is all zeros and its gradient (std {r.grad_kernel_std:.3g}) treats every unit "
          "alike, so training cannot make the units differ.", fix))
    elif r.identical_units > 0 and (r.identical_grad or 0) > 0:
      out.append(DiagnosisWarning(
          "identical_units", r.path,
          f"{r.identical_units + 1} units of kernel {r.kernel_shape} have identical weights and identical "
          "gradients (a constant init: the symmetry is never broken).", fix))
  return out


def dead_units(rows, _layouts, t: Thresholds):
  return [DiagnosisWarning(
      "dead_units", r.path,
      f"{r.dead_fraction:.0%} of the units are <= 0 on the whole batch before {r.activation_out} "
      f"(threshold {t.dead:.0%}; output mean {r.out_mean:.3g}, std {r.out_std:.3g}).",
      "use zero biases (bias_init=jaxinit.zeros) and kernel_init=jaxinit.for_activation('relu'), "
      "or jaxinit.calibrate(model, x).")
      for r in rows if r.dead_fraction is not None and r.dead_fraction > t.dead and r.weight_std != 0]


def depth_groups(rows) -> list[list[LayerRow]]:
  """Rows of the same role at different depths (paths equal but for list indices: ``blocks/*/up``).

  A model with repeated structure (a group of 3 or more) is judged per group; a bespoke one as a whole.
  """
  groups: dict[str, list] = {}
  for r in rows:
    groups.setdefault(re.sub(r"(^|/)\d+(?=/|$| )", r"\1*", r.path), []).append(r)
  repeated = [g for g in groups.values() if len(g) >= 3]
  return repeated or [list(rows)]


def _ratio(group, field):
  values = [(getattr(r, field), r) for r in group if getattr(r, field) is not None and r.finite]
  if len(values) < 2:
    return None
  low, high = min(values, key=lambda v: v[0]), max(values, key=lambda v: v[0])
  if high[0] == 0:
    return None
  return (math.inf if low[0] == 0 else high[0] / low[0]), low, high


def _drift(rows, t: Thresholds, field: str, code: str, what: str):
  found = [r for r in (_ratio(g, field) for g in depth_groups(rows)) if r is not None and r[0] > t.drift]
  if not found:
    return []
  ratio, (low, low_row), (high, high_row) = max(found, key=lambda f: f[0])
  act = _common_activation(rows)
  fix = (f"{init_fix(act)} on every layer, or jaxinit.calibrate(model, x)"
         if act else "jaxinit.calibrate(model, x) (LSUV), or a variance-preserving kernel_init per layer")
  text = "inf" if math.isinf(ratio) else f"{ratio:.3g}"
  return [DiagnosisWarning(
      code, low_row.path if low_row.index > high_row.index else high_row.path,
      f"{what} drifts by {text}x across depth (threshold {t.drift:g}x): {high:.3g} at {high_row.path}, "
      f"{low:.3g} at {low_row.path}.", fix)]


def drift(rows, _layouts, t: Thresholds):
  return (_drift(rows, t, "out_rms", "forward_drift", "the output scale (rms)")
          + _drift(rows, t, "grad_out_std", "gradient_drift", "the gradient scale (std of d loss / d output)"))


def kernel_std(rows, layouts, t: Thresholds):
  out = []
  for r in rows:
    act = r.activation_in
    if act is None or r.fan_in is None or not r.weight_std or r.kind == "Embed" or not r.finite:
      continue
    expected = gain(act) / math.sqrt(r.fan_in)
    ratio = r.weight_std / expected
    if 1.0 / t.kernel_std <= ratio <= t.kernel_std:
      continue
    out.append(DiagnosisWarning(
        "kernel_std", r.path,
        f"kernel std {r.weight_std:.3g} is {ratio:.3g}x the variance-preserving {expected:.3g} = gain({act!r}) / "
        f"sqrt(fan_in={r.fan_in}) for its {act} input.",
        init_fix(act, _axes_text(r, layouts[r.index]))))
  return out


def _layout_fix(row: LayerRow, layout, naive, scheme: str) -> str:
  family = "he" if scheme.startswith("he") else "lecun"
  if layout.note.startswith("einsum"):
    return f"kernel_init=jaxinit.einsum_init({layout.note.split(' ', 1)[1]}, '{family}_normal')"
  axes = _axes_text(row, layout)
  if axes:
    return f"kernel_init=jaxinit.{family}_normal({axes.lstrip(', ')})"
  # same axes, fewer taps per output (a strided transposed conv): scale the variance up instead
  scale = (2.0 if family == "he" else 1.0) * naive.fan_in / layout.fans.fan_in
  return f"kernel_init=jaxinit.variance_scaling({scale:g}, 'fan_in', 'truncated_normal')"


def fan_layout(rows, layouts, _t, *, matcher):
  out = []
  for r in rows:
    layout = layouts[r.index]
    if layout is None or layout.fans is None or r.scheme != "unknown" or not r.weight_std or len(r.kernel_shape) < 2:
      continue
    naive = compute_fans(r.kernel_shape)
    if (naive.fan_in, naive.fan_out) == (layout.fans.fan_in, layout.fans.fan_out):
      continue
    hit = matcher(r, naive)
    if hit.name == "unknown":
      continue
    right = _schemes.family_std(hit.name, layout.fans, r.kind)
    fix = _layout_fix(r, layout, naive, hit.name)
    right_text = f" (std {right:.3g} under the layer's fans: ratio {r.weight_std / right:.3g})" if right else ""
    out.append(DiagnosisWarning(
        "fan_layout", r.path,
        f"kernel {r.kernel_shape} (std {r.weight_std:.3g}) was drawn as {hit.name} with fans from its last two "
        f"axes (fan_in={naive.fan_in}, fan_out={naive.fan_out}), but the layer's layout gives "
        f"fan_in={layout.fans.fan_in}, fan_out={layout.fans.fan_out}{right_text}.", fix))
  return out


def residual_growth(streams, t: Thresholds):
  out = []
  for s in streams:
    n = len(s.blocks)
    v0, vn = s.variances[0], s.variances[-1]
    if n < 3 or not (v0 > 0 and math.isfinite(vn)):
      continue
    growth = (vn - v0) / v0
    if growth >= t.residual * n:
      out.append(DiagnosisWarning(
          "residual_growth", s.parent,
          f"the residual stream's variance grows from {v0:.3g} to {vn:.3g} over {n} blocks "
          f"({s.blocks[0]} .. {s.blocks[-1]}): {growth / n:.3g} per block, linear or faster in depth.",
          f"scale each branch by 1/sqrt({n}) or zero-init its last layer (kernel_init=jaxinit.zeros)."))
  return out
