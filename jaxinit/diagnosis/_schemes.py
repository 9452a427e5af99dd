"""Which known scheme a kernel's sample std matches, under given fans."""

import math
from typing import NamedTuple

from jaxinit.initializers import Fans


class SchemeMatch(NamedTuple):
  """The scheme whose std the weights match (``"unknown"`` when none does), and measured / scheme std."""
  name: str
  ratio: float | None
  expected_std: float | None


UNKNOWN = SchemeMatch("unknown", None, None)


def _families(fans: Fans, kind: str) -> list[tuple[str, float]]:
  fan_in, fan_out = fans.fan_in, fans.fan_out
  if kind == "Embed":
    return [("flax default_embed_init", 1.0 / math.sqrt(fan_out)), ("normal(1.0)", 1.0)]
  if fan_in <= 0 or fan_out <= 0:
    return []
  return [("he", math.sqrt(2.0 / fan_in)), ("lecun", math.sqrt(1.0 / fan_in)),
          ("glorot", math.sqrt(2.0 / (fan_in + fan_out))), ("torch_default_kernel", math.sqrt(1.0 / (3 * fan_in)))]


def distribution(excess_kurtosis: float, n: int) -> str | None:
  """normal (kurtosis 0), truncated normal at +-2 std (-0.63) or uniform (-1.2); None for small samples."""
  if n < 1000 or not math.isfinite(excess_kurtosis):
    return None
  if excess_kurtosis > -0.3:
    return "normal"
  return "truncated_normal" if excess_kurtosis > -0.95 else "uniform"


def tolerance(n: int) -> float:
  """Relative tolerance on a sample std of ``n`` entries: four standard errors, at least 3%."""
  return max(0.03, 4.0 / math.sqrt(2.0 * max(n, 1)))


def _label(family: str, dist: str | None) -> str:
  if family in ("torch_default_kernel",) or family.startswith(("flax", "normal(")):
    return family
  if dist is None:
    return f"{family}_*"
  if dist == "normal":
    return f"{family}_normal (untruncated)"
  return f"{family}_normal" if dist == "truncated_normal" else f"{family}_uniform"


def match(std: float, excess_kurtosis: float, n: int, fans: Fans | None, kind: str) -> SchemeMatch:
  """The known scheme whose std under ``fans`` is within :func:`tolerance` of ``std``."""
  if fans is None or not (math.isfinite(std) and std > 0):
    return UNKNOWN
  tol = tolerance(n)
  dist = distribution(excess_kurtosis, n)
  hits = [(abs(math.log(std / expected)), name, expected) for name, expected in _families(fans, kind)
          if abs(std / expected - 1.0) <= tol and (name != "torch_default_kernel" or dist in (None, "uniform"))]
  if not hits:
    return UNKNOWN
  hits.sort()
  best = hits[0][2]
  names = [_label(name, dist) for _, name, expected in hits if abs(expected / best - 1.0) < 1e-9]
  return SchemeMatch(" = ".join(names), std / best, best)


def family_std(name: str, fans: Fans, kind: str = "") -> float | None:
  """The std of the scheme family that ``name`` (a :func:`match` label) belongs to, under ``fans``."""
  for family, expected in _families(fans, kind):
    if name.startswith(family):
      return expected
  return None
