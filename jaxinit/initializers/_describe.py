"""What an initializer draws, as a public description that tools read instead of private attributes."""

from typing import Literal, NamedTuple

from jaxinit.initializers._schemes import VarianceSpec


class Description(NamedTuple):
  """What an initializer draws, as far as jaxinit can tell without calling it.

  Attributes:
    kind: ``"variance_scaling"`` (i.i.d. entries with the variance of ``spec``),
      ``"orthogonal"`` (``scale`` times a Haar-orthogonal matrix) or ``"opaque"`` (only a
      draw can tell: a user's function, a constant, a structured scheme).
    spec: the :class:`VarianceSpec` of a ``"variance_scaling"`` initializer, else None.
    scale: the factor on the Haar matrix of an ``"orthogonal"`` initializer, else None.
  """
  kind: Literal["variance_scaling", "orthogonal", "opaque"]
  spec: VarianceSpec | None = None
  scale: float | None = None


def describe(init) -> Description:
  """Describes what ``init`` draws.

  Examples:
    >>> import jaxinit
    >>> jaxinit.describe(jaxinit.he_normal()).spec.scale
    2.0
    >>> jaxinit.describe(jaxinit.orthogonal(2.0))
    Description(kind='orthogonal', spec=None, scale=2.0)
    >>> jaxinit.describe(jaxinit.zeros).kind
    'opaque'
  """
  spec = getattr(init, "spec", None)
  if isinstance(spec, VarianceSpec):
    return Description("variance_scaling", spec=spec)
  haar = getattr(init, "_haar_scale", None)
  if haar is not None:
    return Description("orthogonal", scale=haar)
  return Description("opaque")
