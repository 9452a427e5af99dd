"""The catalogue of named schemes: what `jaxinit schemes` prints and what sweeps look up by name."""

from collections.abc import Callable
from typing import NamedTuple

from jaxinit.core import _checks
from jaxinit.initializers import _distributions, _structured, _torch, _variance_scaling


class SchemeInfo(NamedTuple):
  name: str
  build: Callable[[], _checks.Initializer]  # the initializer with default arguments
  distribution: str
  variance: str
  aliases: tuple[str, ...] = ()


SCHEMES: tuple[SchemeInfo, ...] = (
    SchemeInfo("he_normal", _variance_scaling.he_normal, "truncated normal (+-2 std)", "2 / fan_in",
               ("kaiming_normal",)),
    SchemeInfo("he_uniform", _variance_scaling.he_uniform, "uniform +-sqrt(6 / fan_in)", "2 / fan_in",
               ("kaiming_uniform",)),
    SchemeInfo("glorot_normal", _variance_scaling.glorot_normal, "truncated normal (+-2 std)",
               "2 / (fan_in + fan_out)", ("xavier_normal",)),
    SchemeInfo("glorot_uniform", _variance_scaling.glorot_uniform, "uniform +-sqrt(6 / (fan_in + fan_out))",
               "2 / (fan_in + fan_out)", ("xavier_uniform",)),
    SchemeInfo("lecun_normal", _variance_scaling.lecun_normal, "truncated normal (+-2 std)", "1 / fan_in"),
    SchemeInfo("lecun_uniform", _variance_scaling.lecun_uniform, "uniform +-sqrt(3 / fan_in)", "1 / fan_in"),
    SchemeInfo("torch_default_kernel", _torch.torch_default_kernel, "uniform +-1/sqrt(fan_in)",
               "1 / (3 fan_in)"),
    SchemeInfo("orthogonal", _structured.orthogonal, "Haar orthogonal (rows or columns)",
               "1 / fan_in when fan_in >= fan_out (exact isometry)"),
    SchemeInfo("delta_orthogonal", _structured.delta_orthogonal, "orthogonal centre tap, zeros elsewhere",
               "1 / in at the centre tap, 0 elsewhere"),
    SchemeInfo("identity", _structured.identity, "eye(in, out)", "1 on the diagonal, 0 elsewhere"),
    SchemeInfo("dirac", _structured.dirac, "identity convolution", "1 at centre, per channel"),
    SchemeInfo("sparse", lambda: _structured.sparse(0.9), "N(0, stddev^2), ceil(s fan_in) zeros per unit",
               "(1 - zeros / fan_in) stddev^2"),
    SchemeInfo("normal", lambda: _distributions.normal(), "N(0, stddev^2)", "stddev^2 (default 1e-4)"),
    SchemeInfo("truncated_normal", lambda: _distributions.truncated_normal(),
               "N(0, stddev^2) truncated to +-2 stddev", "0.7737 stddev^2 (default 7.7e-5)"),
    SchemeInfo("uniform", lambda: _distributions.uniform(), "U[0, scale)", "scale^2 / 12 (mean scale / 2)"),
    SchemeInfo("variance_scaling", lambda: _variance_scaling.variance_scaling(1.0, "fan_in", "normal"),
               "(truncated) normal or uniform", "scale / fan_in | fan_out | fan_avg | fan_geo_avg"),
    SchemeInfo("zeros", lambda: _distributions.zeros, "constant 0", "0 (symmetric: every unit identical)"),
    SchemeInfo("ones", lambda: _distributions.ones, "constant 1", "0 (symmetric: every unit identical)"),
    SchemeInfo("constant", lambda: _distributions.constant(0.0), "constant value", "0 (symmetric)"),
)

_BY_NAME = {alias: info for info in SCHEMES for alias in (info.name, *info.aliases)}
SCHEME_NAMES = tuple(sorted(_BY_NAME))



class ParametrisedInfo(NamedTuple):
  form: str  # how it is written, KIND:ARG[,ARG...]
  arguments: tuple[int, int]  # how many arguments, at least and at most
  distribution: str
  variance: str


PARAMETRISED = {
    "for_activation": ParametrisedInfo("for_activation:ACTIVATION", (1, 1), "truncated normal (+-2 std)",
                                       "gain(activation)^2 / fan_in = 1 / (E[phi(z)^2] fan_in)"),
    "edge_of_chaos": ParametrisedInfo("edge_of_chaos:ACTIVATION[,SIGMA_B2]", (1, 2), "normal",
                                      "sigma_w^2 / fan_in with chi_1 = 1 at SIGMA_B2 (default 0.05)"),
    "variance_scaling": ParametrisedInfo("variance_scaling:SCALE,MODE,DISTRIBUTION", (3, 3),
                                         "DISTRIBUTION", "SCALE / fan_in | fan_out | fan_avg | fan_geo_avg"),
}
EDGE_OF_CHAOS_SIGMA_B2 = 0.05  # the bias variance of edge_of_chaos:ACTIVATION without one


def _number(text: str, name: str, where: str) -> float:
  try:
    return float(text)
  except ValueError:
    raise ValueError(f"{where}: scheme {name!r}: {text!r} is not a number") from None


def _edge_of_chaos(activation: str, sigma_b2: float, name: str, where: str) -> _checks.Initializer:
  from jaxinit import theory  # the theory sits beside the initializers; only this scheme needs it

  sigma_w2 = float(theory.edge_of_chaos(activation, sigma_b2).sigma_w2)
  if not sigma_w2 > 0 or sigma_w2 == float("inf"):
    raise ValueError(f"{where}: scheme {name!r}: {activation} has no edge of chaos with a finite fixed point "
                     f"reached from q = 1 at sigma_b2={sigma_b2!r}")
  return _variance_scaling.variance_scaling(sigma_w2, "fan_in", "normal")


def _parametrised(name: str, where: str) -> _checks.Initializer:
  from jaxinit.initializers import _gains

  kind, _, text = name.partition(":")
  if kind not in PARAMETRISED:
    raise ValueError(f"{where}: scheme={name!r} is unknown; schemes with arguments are "
                     f"{', '.join(p.form for p in PARAMETRISED.values())}")
  form, (low, high) = PARAMETRISED[kind][:2]
  args = [a.strip() for a in text.split(",")] if text else []
  if not low <= len(args) <= high or not all(args):
    raise ValueError(f"{where}: scheme={name!r} does not read as {form}")
  try:
    if kind == "for_activation":
      return _gains.for_activation(args[0])
    if kind == "edge_of_chaos":
      sigma_b2 = _number(args[1], name, where) if len(args) > 1 else EDGE_OF_CHAOS_SIGMA_B2
      return _edge_of_chaos(args[0], sigma_b2, name, where)
    return _variance_scaling.variance_scaling(_number(args[0], name, where), args[1], args[2])
  except ValueError as e:
    raise ValueError(f"{where}: scheme={name!r}: {e}") from None


def lookup(name: str, *, where: str = "scheme") -> _checks.Initializer:
  """The initializer named ``name`` (or an alias) with default arguments, or a scheme with arguments.

  Schemes with arguments: ``for_activation:ACTIVATION`` (the exact gain), ``edge_of_chaos:ACTIVATION[,SIGMA_B2]``
  (``variance_scaling(sigma_w2, "fan_in", "normal")`` at the critical sigma_w2 for that bias variance, default
  0.05; pair it with biases of that variance) and ``variance_scaling:SCALE,MODE,DISTRIBUTION``.

  Examples:
    >>> from jaxinit.initializers import _catalog
    >>> _catalog.lookup("variance_scaling:2,fan_in,normal").spec.scale
    2.0
  """
  info = _BY_NAME.get(name)
  if info is not None:
    return info.build()
  if ":" in name:
    return _parametrised(name, where)
  raise ValueError(f"{where}: scheme={name!r} is unknown; expected one of {', '.join(SCHEME_NAMES)}, or "
                   f"{', '.join(p.form for p in PARAMETRISED.values())}")


def paired_bias_variance(name: str) -> float | None:
  """The bias variance a scheme name is paired with: ``edge_of_chaos:ACTIVATION[,SIGMA_B2]`` is critical only
  with biases of variance SIGMA_B2 (default 0.05); None for every other name.

  Examples:
    >>> from jaxinit.initializers import _catalog
    >>> _catalog.paired_bias_variance("edge_of_chaos:tanh,0.1"), _catalog.paired_bias_variance("he_normal")
    (0.1, None)
  """
  kind, _, text = name.partition(":")
  if kind != "edge_of_chaos":
    return None
  args = [a.strip() for a in text.split(",")]
  return _number(args[1], name, "scheme") if len(args) > 1 else EDGE_OF_CHAOS_SIGMA_B2


def split_names(text: str) -> list[str]:
  """Splits a comma-separated list of scheme names, keeping the arguments of a scheme with arguments.

  ``"he_normal,variance_scaling:2,fan_in,normal,edge_of_chaos:tanh,0.1"`` gives
  ``["he_normal", "variance_scaling:2,fan_in,normal", "edge_of_chaos:tanh,0.1"]``: a scheme with
  arguments takes as many of the following items as its form has arguments (an optional one only
  when it is a number).
  """
  items, out = [t.strip() for t in text.split(",")], []
  while items:
    name = items.pop(0)
    kind, sep, _ = name.partition(":")
    if sep and kind in PARAMETRISED:
      low, high = PARAMETRISED[kind].arguments
      for _ in range(low - 1):
        if items:
          name += "," + items.pop(0)
      for _ in range(high - low):
        if items and _is_number(items[0]):
          name += "," + items.pop(0)
    out.append(name)
  return out


def _is_number(text: str) -> bool:
  try:
    float(text)
  except ValueError:
    return False
  return True
