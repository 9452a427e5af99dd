"""The schemes a recommendation weighs, and what the mean-field theory predicts for each at a depth."""

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from jaxinit import initializers, theory
from jaxinit.core import _activations

# the sweep's thresholds: a ratio beyond 100x either way, or 1 - c below 1e-3, is unhealthy
EXPLODE_LOG10 = 2.0
COLLAPSE_TOL = 1e-3
DEFAULT_SIGMA_B2 = 0.05  # the bias variance of Schoenholz et al.'s phase diagrams


class Candidate(NamedTuple):
  """One scheme weighed for an activation, depth and width, with the theory's and the simulation's word.

  Attributes:
    label: the scheme's name: a catalogue name (``"he_normal"``) or a description with its
      arguments (``"edge_of_chaos:tanh,0.05"``, ``"for_activation:gelu"``).
    sigma_w2: fan_in x Var(W) of a square kernel (the mean-field weight variance).
    sigma_b2: the bias variance it is paired with.
    chi1: the slope of the correlation map at c = 1 at the fixed point (1: edge of chaos).
    q_star: the fixed point of the length map reached from the input (inf: it diverges).
    xi_c: the correlation depth scale (inf at the edge of chaos); networks train to about 6 xi_c.
    forward_log10: predicted log10(M_D / M_0) at the depth (infinite width).
    gradient_log10: predicted log10 of the gradient ratio, layer 1 over layer D.
    corr: predicted correlation at layer D of two inputs that start uncorrelated.
    theory_verdict: "stable", "exploding", "vanishing" or "collapsed" from the predictions.
    simulated_verdict: the sweep's verdict at the depth and width (None when not simulated).
    stable_depth: the sweep's deepest depth up to which every depth is stable (None when not simulated).
  """
  label: str
  sigma_w2: float
  sigma_b2: float
  chi1: float
  q_star: float
  xi_c: float
  forward_log10: float
  gradient_log10: float
  corr: float
  theory_verdict: str
  simulated_verdict: str | None = None
  stable_depth: int | None = None


class Scheme(NamedTuple):
  """A scheme to weigh: its label, weight variance, bias variance and the initializers that draw it."""
  label: str
  sigma_w2: float
  sigma_b2: float
  kernel_init: Callable
  bias_init: Callable


def _bias_init(sigma_b2: float) -> Callable:
  return initializers.normal(math.sqrt(sigma_b2)) if sigma_b2 > 0 else initializers.zeros


def exact_gain_scheme(activation: str, param) -> Scheme:
  """``for_activation``: Var(W) = gain^2 / fan_in with gain = E[phi(z)^2]^-1/2, no bias."""
  gain2 = initializers.gain(activation, param) ** 2
  return Scheme(f"for_activation:{activation}", gain2, 0.0,
                initializers.variance_scaling(gain2, "fan_in", "truncated_normal"), initializers.zeros)


def schemes_for(activation: str, param, sigma_b2: float) -> list[Scheme]:
  """The classic schemes, the exact gain and the edge of chaos for ``activation``, without repeats."""
  out = [Scheme("he_normal", 2.0, 0.0, initializers.he_normal(), initializers.zeros),
         Scheme("lecun_normal", 1.0, 0.0, initializers.lecun_normal(), initializers.zeros),
         exact_gain_scheme(activation, param)]
  edge = theory.edge_of_chaos(activation, sigma_b2, param=param)
  edge_w2, edge_q = float(edge.sigma_w2), float(edge.q_star)
  if math.isfinite(edge_w2) and math.isfinite(edge_q) and edge_q > 0:
    out.append(Scheme(f"edge_of_chaos:{activation},{sigma_b2:g}", edge_w2, float(sigma_b2),
                      initializers.variance_scaling(edge_w2, "fan_in", "normal"), _bias_init(sigma_b2)))
  unique: dict[tuple[float, float], Scheme] = {}
  for s in out:  # gain^2 = 2 for ReLU is He, gain^2 = 1 for SELU is LeCun: keep the classic name
    unique.setdefault((round(s.sigma_w2, 9), s.sigma_b2), s)
  return list(unique.values())


def _theory_verdict(forward_log10: float, gradient_log10: float, corr: float) -> str:
  """The sweep's verdict rules, in its order of precedence, applied to the predictions."""
  if math.isnan(forward_log10):
    return "unknown"
  if 1.0 - corr < COLLAPSE_TOL:  # False for an unknown (nan) correlation
    return "collapsed"
  if forward_log10 > EXPLODE_LOG10 or gradient_log10 > EXPLODE_LOG10:
    return "exploding"
  if forward_log10 < -EXPLODE_LOG10 or gradient_log10 < -EXPLODE_LOG10:
    return "vanishing"
  return "unknown" if math.isnan(gradient_log10) or math.isnan(corr) else "stable"


def _or_nan(fn, *args, **kwargs) -> np.ndarray:
  """The theory's answer, or nan where it refuses the parameters (say, a quadrature out of its range)."""
  try:
    return np.asarray(fn(*args, **kwargs), dtype=np.float64)
  except ValueError:
    return np.asarray(math.nan)


def predict(activation: str, param, scheme: Scheme, depth: int) -> Candidate:
  """The mean-field prediction for a plain MLP of ``depth`` layers on inputs with unit second moment.

  A quantity the theory refuses to compute (a quadrature outside its accurate range) is nan, and a
  verdict that needs it is decided by the others, or is "unknown".
  """
  sw2, sb2 = scheme.sigma_w2, scheme.sigma_b2
  q1 = sw2 + sb2  # the first layer's pre-activations, for inputs of unit second moment
  c1 = sb2 / q1  # two uncorrelated inputs
  with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
    q = _or_nan(theory.qmap, activation, sw2, sb2, q1, depth, param=param)
    forward = math.nan if q.ndim == 0 else (
        math.log10((q[depth] - sb2) / sw2) if q[depth] > sb2 else -math.inf)
    grad = _or_nan(theory.grad_map, activation, sw2, sb2, q1, depth - 1, param=param)
    gradient = math.nan if grad.ndim == 0 else float(np.log10(grad[0]))
    corr = _or_nan(theory.cmap, activation, sw2, sb2, q1, c1, depth - 1, param=param)
    corr = math.nan if corr.ndim == 0 else float(corr[-1])
    q_star = float(_or_nan(lambda: theory.fixed_point(activation, sw2, sb2, param=param).q_star))
    chi1 = float(_or_nan(theory.chi1, activation, sw2, sb2, param=param))
    xi_c = float(_or_nan(lambda: theory.depth_scales(activation, sw2, sb2, param=param).xi_c))
  return Candidate(scheme.label, sw2, sb2, chi1, q_star, xi_c, forward, gradient, corr,
                   _theory_verdict(forward, gradient, corr))


def resolve_activation(activation, param) -> tuple[str, float | None]:
  """A registry name and its parameter; recommendations need a named activation (closed forms, gains)."""
  if not isinstance(activation, str):
    raise ValueError(f"recommend: activation={activation!r} must be a name; expected one of "
                     f"{', '.join(_activations.ACTIVATION_NAMES)}")
  _activations.resolve(activation, param, where="recommend")
  return activation, param
