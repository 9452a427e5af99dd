"""What an initializer draws, as a public description that tools read instead of private attributes."""

from typing import Literal, NamedTuple

from jaxinit.core import _checks
from jaxinit.initializers._fans import compute_fans

Mode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Distribution = Literal["truncated_normal", "normal", "uniform"]
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")


def fan_denominator(mode: str, fan_in: int, fan_out: int) -> float:
  """The ``n`` of a variance ``scale / n``: fan_in, fan_out, their mean or their geometric mean."""
  if mode == "fan_in":
    return fan_in
  if mode == "fan_out":
    return fan_out
  if mode == "fan_avg":
    return (fan_in + fan_out) / 2
  return (fan_in * fan_out) ** 0.5


class VarianceSpec(NamedTuple):
  """What a variance-scaling initializer draws: i.i.d. entries of variance ``scale / n``.

  ``n`` follows ``mode`` from the fans of the kernel's shape (see :func:`compute_fans`).
  Two initializers with equal specs draw from the same law, so tools can share random
  numbers between them.

  Attributes:
    scale: the variance multiplier (a Python number, or an array, possibly traced).
    mode: ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``.
    distribution: ``"truncated_normal"``, ``"normal"`` or ``"uniform"``.
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.
  """
  scale: float
  mode: str
  distribution: str
  in_axis: _checks.Axes
  out_axis: _checks.Axes
  batch_axis: _checks.Axes

  def variance(self, shape) -> float:
    """The per-entry variance this spec gives a kernel of ``shape``."""
    fans = compute_fans(shape, self.in_axis, self.out_axis, self.batch_axis)
    return self.scale / fan_denominator(self.mode, fans.fan_in, fans.fan_out)


class Description(NamedTuple):
  """What an initializer draws, as far as jaxinit can tell without calling it.

  Every jaxinit initializer carries one as its ``description`` attribute.

  Attributes:
    kind: ``"variance_scaling"`` (i.i.d. entries with the variance of ``spec``),
      ``"orthogonal"`` (``scale`` times a Haar-orthogonal matrix) or ``"opaque"`` (only a
      draw can tell: a user's function, a constant, a structured scheme).
    spec: the :class:`VarianceSpec` of a ``"variance_scaling"`` initializer, else None.
    scale: the factor on the Haar matrix of an ``"orthogonal"`` initializer (a number
      or an array, possibly traced), else None.
  """
  kind: Literal["variance_scaling", "orthogonal", "opaque"]
  spec: VarianceSpec | None = None
  scale: float | None = None


OPAQUE = Description("opaque")


def describe(init) -> Description:
  """Describes what ``init`` draws: its ``description`` attribute, or ``"opaque"`` for any other callable.

  Args:
    init: an initializer (any callable).

  Returns:
    A :class:`Description`.

  Raises:
    Nothing: any object is described (``"opaque"`` when it carries no description).

  Examples:
    >>> import jaxinit
    >>> jaxinit.describe(jaxinit.he_normal()).spec.scale
    2.0
    >>> jaxinit.describe(jaxinit.orthogonal(2.0))
    Description(kind='orthogonal', spec=None, scale=2.0)
    >>> jaxinit.describe(jaxinit.zeros).kind
    'opaque'
    >>> jaxinit.describe(lambda key, shape, dtype=None: None).kind
    'opaque'
  """
  description = getattr(init, "description", None)
  return description if isinstance(description, Description) else OPAQUE
