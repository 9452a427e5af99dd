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


def lookup(name: str, *, where: str = "scheme") -> _checks.Initializer:
  """The initializer named ``name`` (or an alias) with default arguments."""
  info = _BY_NAME.get(name)
  if info is None:
    raise ValueError(f"{where}: scheme={name!r} is unknown; expected one of {', '.join(SCHEME_NAMES)}")
  return info.build()
