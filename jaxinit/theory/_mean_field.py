"""Mean-field theory of deep networks at initialisation: signal propagation you can check.

Fully connected layers ``h^l = W^l x^{l-1} + b^l``, ``x^l = phi(h^l)`` with
``Var W = sigma_w2 / fan_in`` and ``Var b = sigma_b2``, in the infinite-width limit
(Poole et al. 2016; Schoenholz et al. 2017), plus the finite-width correction for ReLU
(Hanin & Nica 2019) and the Jacobian spectrum (Pennington et al. 2017).

Conventions shared by every function:

* ``q`` is the per-unit second moment of pre-activations. A trajectory ``q`` of shape
  ``(depth + 1,)`` holds ``q[0] = q0`` for the first layer's pre-activations ``h^1`` and
  ``q[k]`` for ``h^{k+1}``: ``depth`` is the number of maps applied.
* ``activation`` is static: a name known to ``jaxinit`` (``"relu"``, ``"leaky_relu"`` with
  ``param`` = slope, ``"tanh"``, ``"selu"``, ...) or a hashable elementwise callable.
  ReLU, leaky ReLU, identity and erf use closed forms (arc-cosine and arcsine kernels);
  every other activation, and every callable, uses Gauss-Legendre quadrature split where
  the pre-activation crosses 0, which is exact to rounding for activations smooth
  away from 0 (a callable with a kink elsewhere converges more slowly).
* ``sigma_w2``, ``sigma_b2``, ``q0`` and ``c0`` are traced scalars: every function works under
  ``jax.jit`` and ``jax.vmap``, and array arguments broadcast against each other (the result
  gains their shape in front). Layers run in ``lax.scan``, so compile time does not grow
  with ``depth``.
* Everything is computed in float64 under a local ``jax.enable_x64(True)``; results are
  float64 arrays even when x64 is off globally. Inside a caller's ``jax.jit`` with x64 off
  the theory still runs in float64 and hands back a float64 tracer, which jax narrows to
  float32 as soon as it meets the caller's float32 values (under strict dtype promotion,
  cast it explicitly). Outside jit with x64 off, jax arithmetic on the float64 results
  warns and truncates to float32: read them with ``np.asarray`` or ``float``.
* Arguments are checked at call time: a bad activation, ``depth``, widths, a negative or
  non-finite variance or ``c0`` outside [-1, 1] raise ``ValueError`` naming the parameter.
  Traced values cannot be checked; the theory then returns nan where it is undefined.
"""

import functools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxinit.core._activations import Z_MAX, Activation, gauss_rule, resolve

__all__ = [
    "DepthScales",
    "EdgeOfChaos",
    "FixedPoint",
    "JacobianSpectrum",
    "LogNormMoments",
    "NeuralTangentKernel",
    "chi1",
    "cmap",
    "depth_scales",
    "edge_of_chaos",
    "fixed_point",
    "grad_map",
    "jacobian_spectrum_variance",
    "ntk",
    "qmap",
    "relu_log_norm_moments",
]


class FixedPoint(NamedTuple):
  """Fixed point of the length and correlation maps."""
  q_star: jax.Array
  c_star: jax.Array


class DepthScales(NamedTuple):
  """Depths over which q and c forget their inputs (inf at criticality)."""
  xi_q: jax.Array
  xi_c: jax.Array


class EdgeOfChaos(NamedTuple):
  """Critical weight variance (``chi1 = 1``) for a bias variance, and the q* there."""
  sigma_w2: jax.Array
  q_star: jax.Array


class NeuralTangentKernel(NamedTuple):
  """Per-layer NTK of one input with itself and of two inputs, shapes ``(depth + 1,)``."""
  diagonal: jax.Array
  off_diagonal: jax.Array


class JacobianSpectrum(NamedTuple):
  """Moments of the eigenvalues of ``J J^T`` predicted by free probability."""
  variance: jax.Array
  mean: jax.Array
  mu1: jax.Array
  mu2: jax.Array


class LogNormMoments(NamedTuple):
  """Mean and variance of ``log(M_L / M_0)``."""
  mean: jax.Array
  var: jax.Array


# --------------------------------------------------------------------------- quadrature

_Z1, _W1 = gauss_rule()  # 1-D expectations: 2 x 160 nodes, exact to rounding
# The 2-D rule: 2 x 80 outer nodes times 5 panels x 32 inner nodes (25,600 points) agree
# with the erf and ReLU closed forms to ~1e-11 for q <= 50 and every c in [-1, 1].
_Z2_OUTER, _W2_OUTER = gauss_rule(80)
_LEG_X, _LEG_W = np.polynomial.legendre.leggauss(32)
_SQRT_2PI = math.sqrt(2.0 * math.pi)

_FIXED_POINT_MAP_STEPS = 64
_NEWTON_STEPS = 40
_CRITICAL_TOLERANCE = 1e-10  # chi1 this close above 1 counts as ordered: c* = 1
_Q_DIVERGED = 1e250  # past this the q-map has no finite fixed point within float64
_EDGE_LOG_Q_RANGE = (math.log(1e-30), math.log(1e4))
_EDGE_BISECTIONS = 80  # halves the log-q bracket (width 78) below float64 resolution


def _slope_fn(fn):
  """phi' of an elementwise fn, by forward-mode autodiff."""
  return lambda x: jax.jvp(fn, (x,), (jnp.ones_like(x),))[1]


def _root(q):
  """sqrt(q) kept off 0, so that slopes at q = 0 average the two sides of a kink (the
  limit q -> 0) instead of taking whatever phi'(0) autodiff picks."""
  return jnp.sqrt(jnp.maximum(q, 1e-300))


def _theta(delta):
  """Angle between two inputs with correlation 1 - delta, accurate as delta -> 0."""
  return 2.0 * jnp.arcsin(jnp.sqrt(jnp.clip(delta, 0.0, 2.0) / 2.0))


def _theta_minus_sin(theta):
  """theta - sin(theta) without cancellation at small theta (Taylor below 0.5)."""
  t2 = theta * theta
  series = theta * t2 / 6.0 * (1 - t2 / 20 * (1 - t2 / 42 * (1 - t2 / 72 * (
      1 - t2 / 110 * (1 - t2 / 156 * (1 - t2 / 210))))))
  return jnp.where(theta < 0.5, series, theta - jnp.sin(theta))


class _QuadratureKernels:
  """Gaussian expectations of phi by quadrature split at its kink; delta = 1 - c throughout.

  Two inputs with equal q are written u1 = sqrt(q) (p a + s b), u2 = +-sqrt(q) (p a - s b)
  with a, b ~ N(0, 1), p = max(alpha, beta), s = min(alpha, beta), alpha = sqrt(1 - delta/2),
  beta = sqrt(delta/2) (sign + for c >= 0). Both kinks (u1 = 0, u2 = 0) then lie at
  a = -+s b / p: the inner rule over a is split there (with a unit-width panel each side
  to resolve the steep part of saturating phi), and the outer rule over b at 0, where the
  two kinks meet. No kink ever runs nearly parallel to an axis, even as c -> +-1, and
  u1 - u2 = 2 sqrt(q) beta b for c >= 0 is exact, so 1 - c stays accurate far below
  the float64 resolution of c itself.
  """

  def __init__(self, fn: Callable[[jax.Array], jax.Array]):
    self.fn = lambda x: jnp.asarray(fn(x), jnp.float64)
    self.slope = _slope_fn(self.fn)
    self.curve = _slope_fn(self.slope)

  def _mean(self, integrand, q, *, slopes=False):
    u = (_root(q) if slopes else jnp.sqrt(q)) * _Z1
    return jnp.sum(_W1 * integrand(u))

  def _mean2(self, integrand, q, delta, *, slopes=False):
    """E[integrand(u1, u2)] over the correlated pair."""
    delta = jnp.clip(delta, 0.0, 2.0)
    alpha, beta = jnp.sqrt(1.0 - delta / 2.0), jnp.sqrt(delta / 2.0)
    big, small = jnp.maximum(alpha, beta), jnp.minimum(alpha, beta)
    b = _Z2_OUTER[:, None]
    kink = small * jnp.abs(b) / big  # <= |b|: the split points stay inside [-Z_MAX, Z_MAX]
    edges = (-Z_MAX, -kink - 1.0, -kink, kink, kink + 1.0, Z_MAX)
    a = jnp.concatenate([(hi - lo) / 2 * _LEG_X + (hi + lo) / 2
                         for lo, hi in zip(edges[:-1], edges[1:], strict=True)], axis=1)
    w = jnp.concatenate([(hi - lo) / 2 * _LEG_W + jnp.zeros_like(b)
                         for lo, hi in zip(edges[:-1], edges[1:], strict=True)], axis=1)
    w = w * jnp.exp(-0.5 * a * a) / _SQRT_2PI
    root_q = _root(q) if slopes else jnp.sqrt(q)
    u1 = root_q * (big * a + small * b)
    u2 = jnp.where(delta <= 1.0, u1 - 2.0 * root_q * small * b, root_q * (small * b - big * a))
    return jnp.sum(_W2_OUTER * jnp.sum(w * integrand(u1, u2), axis=1))

  def variance(self, q):
    """E[phi(u)^2], u ~ N(0, q)."""
    return self._mean(lambda u: self.fn(u) ** 2, q)

  def slope_var(self, q):
    """E[phi'(u)^2]."""
    return self._mean(lambda u: self.slope(u) ** 2, q, slopes=True)

  def slope_power(self, q, power):
    """E[|phi'(u)|^power]."""
    return self._mean(lambda u: jnp.abs(self.slope(u)) ** power, q, slopes=True)

  def curvature(self, q):
    """E[phi''(u) phi(u)]; with slope_var it is d/dq E[phi^2] (Gaussian integration by parts)."""
    return self._mean(lambda u: self.curve(u) * self.fn(u), q, slopes=True)

  def half_sq_diff(self, q, delta):
    """E[phi(u1)^2] - E[phi(u1) phi(u2)] = E[(phi(u1) - phi(u2))^2] / 2."""
    return 0.5 * self._mean2(lambda u1, u2: (self.fn(u1) - self.fn(u2)) ** 2, q, delta)

  def slope_cov(self, q, delta):
    """E[phi'(u1) phi'(u2)]."""
    return self._mean2(lambda u1, u2: self.slope(u1) * self.slope(u2), q, delta, slopes=True)

  def next_q(self, sigma_w2, sigma_b2, q):
    return sigma_w2 * self.variance(q) + sigma_b2

  def next_delta(self, sigma_w2, sigma_b2, q, delta):
    """1 - c after one layer; two inputs mapped onto the bias alone are identical."""
    q_next = self.next_q(sigma_w2, sigma_b2, q)
    gap = sigma_w2 * self.half_sq_diff(q, delta)
    return jnp.where(q_next > 0, gap / jnp.where(q_next > 0, q_next, 1.0), 0.0)

  def correlation_slope(self, sigma_w2, sigma_b2, q, delta):
    """d c^{l+1} / d c^l at a fixed point (Price's theorem: d E[phi phi] / d q_ab = E[phi' phi'])."""
    return sigma_w2 * self.slope_cov(q, delta)

  def q_star(self, sigma_w2, sigma_b2):
    """The fixed point the q-map reaches from q = 1: map steps, then safeguarded Newton."""
    def step(q):
      return jnp.where(q < _Q_DIVERGED, self.next_q(sigma_w2, sigma_b2, q), q)

    q = lax.fori_loop(0, _FIXED_POINT_MAP_STEPS, lambda _, q: step(q), jnp.float64(1.0))

    def newton(_, q):
      residual = step(q) - q
      newton_q = q - residual / (sigma_w2 * (self.slope_var(q) + self.curvature(q)) - 1.0)
      better = (jnp.isfinite(newton_q) & (newton_q >= 0)
                & (jnp.abs(step(newton_q) - newton_q) < jnp.abs(residual)))
      return jnp.where(better, newton_q, step(q))

    q = lax.fori_loop(0, _NEWTON_STEPS, newton, q)
    converged = jnp.abs(step(q) - q) <= 1e-9 * (1.0 + q)
    return jnp.where(converged & (q < _Q_DIVERGED), q, jnp.inf)

  def delta_star(self, sigma_w2, sigma_b2, q):
    """1 - c* in the chaotic phase: the fixed point the c-map reaches from c = 0."""
    def step(delta):
      return self.next_delta(sigma_w2, sigma_b2, q, delta)

    delta = lax.fori_loop(0, _FIXED_POINT_MAP_STEPS, lambda _, d: step(d), jnp.float64(1.0))

    def newton(_, delta):
      newton_delta = delta - (step(delta) - delta) / (
          self.correlation_slope(sigma_w2, sigma_b2, q, delta) - 1.0)
      ok = jnp.isfinite(newton_delta) & (newton_delta > 0) & (newton_delta <= 2)
      return jnp.where(ok, newton_delta, step(delta))

    return lax.fori_loop(0, _NEWTON_STEPS // 2, newton, delta)

  def edge(self, sigma_b2):
    """(sigma_w2, q*) with chi1 = 1: the root in log q of E[phi^2]/E[phi'^2] + sigma_b2 - q."""
    def excess(log_q):
      q = jnp.exp(log_q)
      return self.variance(q) / self.slope_var(q) + sigma_b2 - q

    lo, hi = (jnp.float64(b) for b in _EDGE_LOG_Q_RANGE)

    def bisect(_, bracket):
      lo, hi = bracket
      mid = 0.5 * (lo + hi)
      above = excess(mid) > 0
      return jnp.where(above, mid, lo), jnp.where(above, hi, mid)

    root_lo, root_hi = lax.fori_loop(0, _EDGE_BISECTIONS, bisect, (lo, hi))
    q = jnp.exp(0.5 * (root_lo + root_hi))
    # A root below 1e-30 is q* = 0 (phi(0) = 0, sigma_b2 = 0); none below 1e4 is no edge.
    q = jnp.where(excess(lo) > 0, q, 0.0)
    q = jnp.where(excess(hi) < 0, q, jnp.nan)
    return 1.0 / self.slope_var(q), q


class _ErfKernels(_QuadratureKernels):
  """erf(x): arcsine kernel E[erf(u1) erf(u2)] = (2/pi) arcsin(2 q_ab / (1 + 2 q))."""

  def __init__(self):
    super().__init__(jax.scipy.special.erf)

  def variance(self, q):
    return 2.0 / jnp.pi * jnp.arcsin(2.0 * q / (1.0 + 2.0 * q))

  def slope_var(self, q):
    return 4.0 / jnp.pi / jnp.sqrt(1.0 + 4.0 * q)

  def slope_power(self, q, power):
    return (2.0 / math.sqrt(math.pi)) ** power / jnp.sqrt(1.0 + 2.0 * power * q)

  def half_sq_diff(self, q, delta):
    # (2/pi) (arcsin a - arcsin b), a = 2q/(1+2q), b = a c, as one atan2 whose sine term
    # is factored through a - b = a delta so nothing cancels as delta -> 0.
    delta = jnp.clip(delta, 0.0, 2.0)
    a = 2.0 * q / (1.0 + 2.0 * q)
    b = a * (1.0 - delta)
    cos_a, cos_b = jnp.sqrt(1.0 - a * a), jnp.sqrt(1.0 - b * b)
    sine = a * delta * (a * (a + b) / (cos_a + cos_b) + cos_a)
    return 2.0 / jnp.pi * jnp.arctan2(sine, cos_a * cos_b + a * b)

  def slope_cov(self, q, delta):
    delta = jnp.clip(delta, 0.0, 2.0)
    return 4.0 / jnp.pi / jnp.sqrt(1.0 + 4.0 * q + 4.0 * q * q * delta * (2.0 - delta))


class _LeakyKernels(_QuadratureKernels):
  """Leaky ReLU with slope a (ReLU: a = 0, identity: a = 1): the arc-cosine kernel.

  E[phi(u1) phi(u2)] = (1 + a^2) K(c) - 2 a K(-c), K(c) = q (sin t + (pi - t) cos t) / (2 pi),
  t = arccos c. Every expectation is q times a function of c, so the c-map is defined
  even when q* is infinite (sigma_w2 above critical, or at it with sigma_b2 > 0).
  """

  def __init__(self, negative_slope: float):
    a = float(negative_slope)
    super().__init__(lambda x: jnp.where(x >= 0, x, a * x))
    self.a = a

  def _both_slopes(self, theta):
    """E[phi'(u1) phi'(u2)]: both positive w.p. (pi - t)/(2 pi), opposite w.p. t / pi."""
    a = self.a
    return ((1 + a * a) * (jnp.pi - theta) + 2 * a * theta) / (2 * jnp.pi)

  def _gap_ratio(self, delta):
    """half_sq_diff / q, from (1 - a)^2 (t - sin t) / (2 pi) + delta E[phi' phi']."""
    theta = _theta(delta)
    return ((1 - self.a) ** 2 * _theta_minus_sin(theta) / (2 * jnp.pi)
            + jnp.clip(delta, 0.0, 2.0) * self._both_slopes(theta))

  def variance(self, q):
    return (1 + self.a ** 2) / 2 * q

  def slope_var(self, q):
    return jnp.full_like(q, (1 + self.a ** 2) / 2)

  def slope_power(self, q, power):
    return jnp.full_like(q, 1.0) * (1 + abs(self.a) ** power) / 2

  def curvature(self, q):
    return jnp.zeros_like(q)  # phi'' is a delta at 0, where phi vanishes

  def half_sq_diff(self, q, delta):
    return q * self._gap_ratio(delta)

  def slope_cov(self, q, delta):
    return self._both_slopes(_theta(delta)) + jnp.zeros_like(q)

  def next_delta(self, sigma_w2, sigma_b2, q, delta):
    # Divide through by q so that q = inf gives the limit map rather than inf / inf.
    scale = sigma_w2 * self.variance(1.0) + sigma_b2 / jnp.where(q > 0, q, 1.0)
    return jnp.where(q > 0, sigma_w2 * self._gap_ratio(delta) / scale, 0.0)

  def correlation_slope(self, sigma_w2, sigma_b2, q, delta):
    scale = sigma_w2 * self.variance(1.0) + sigma_b2 / jnp.where(q > 0, q, 1.0)
    return sigma_w2 * self.slope_cov(q, delta) / scale

  def q_star(self, sigma_w2, sigma_b2):
    gain = sigma_w2 * self.variance(1.0)
    # gain = 1 without bias leaves q = 1 where it started; otherwise gain >= 1 diverges
    beyond = jnp.where((gain == 1) & (sigma_b2 == 0), 1.0, jnp.inf)
    return jnp.where(gain < 1, sigma_b2 / jnp.where(gain < 1, 1 - gain, 1.0), beyond)

  def delta_star(self, sigma_w2, sigma_b2, q):
    # The limit map 1 - c -> 1 - c - (1-a)^2 t^3 / (3 pi (1+a^2)) + ... only contracts:
    # for any sigma_w2 the correlation goes to 1 (algebraically above criticality).
    return jnp.zeros_like(q)

  def edge(self, sigma_b2):
    q = jnp.where(sigma_b2 > 0, jnp.full_like(sigma_b2, jnp.inf), jnp.nan)  # q^l grows linearly
    return jnp.full_like(sigma_b2, 2.0 / (1 + self.a ** 2)), q


def _kernels(spec) -> _QuadratureKernels:
  key, param = spec
  if key in ("relu", "leaky_relu", "identity", "linear"):
    return _LeakyKernels({"relu": 0.0, "identity": 1.0, "linear": 1.0}.get(key, param))
  if key == "erf":
    return _ErfKernels()
  if isinstance(key, str):
    return _QuadratureKernels(resolve(key, param).fn)
  return _QuadratureKernels(key)


# ------------------------------------------------------------------------------- checks

def _spec(activation, param, where):
  """The static, hashable description of an activation: (name, param) or (callable, None)."""
  if isinstance(activation, Activation):
    activation = activation.fn
  if callable(activation) and not isinstance(activation, str):
    if param is not None:
      raise ValueError(f"{where}: param={param!r} applies only to activation='leaky_relu'")
    try:
      hash(activation)
    except TypeError as e:
      raise ValueError(f"{where}: activation={activation!r} must be hashable (it is static)") from e
    return (activation, None)
  resolved = resolve(activation, param, where=where)
  return (resolved.name, resolved.param)


def _check_depth(depth, where):
  if not isinstance(depth, numbers.Integral) or isinstance(depth, bool) or depth < 0:
    raise ValueError(f"{where}: depth={depth!r} must be an int >= 0")
  return int(depth)


def _check_range(value, name, where, lo=0.0, hi=math.inf):
  """Checks a concrete value lies in [lo, hi]; traced values pass through unchecked."""
  try:
    v = np.asarray(value, dtype=np.float64)
  except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
    return value
  except (TypeError, ValueError) as e:
    raise ValueError(f"{where}: {name}={value!r} must be a real number") from e
  if not np.all(np.isfinite(v) & (v >= lo) & (v <= hi)):
    bound = f">= {lo:g}" if hi == math.inf else f"in [{lo:g}, {hi:g}]"
    raise ValueError(f"{where}: {name}={value!r} must be finite and {bound}")
  return value


def _float64_call(core, static, *values):
  """Runs core(*static, *scalars) in float64, broadcasting array arguments with vmap."""
  with jax.enable_x64(True):
    values = [jnp.asarray(v, jnp.float64) for v in values]
    shape = jnp.broadcast_shapes(*(v.shape for v in values))
    if not shape:
      return core(*static, *values)
    flat = [jnp.broadcast_to(v, shape).reshape(-1) for v in values]
    out = jax.vmap(lambda *xs: core(*static, *xs))(*flat)
    return jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), out)


# ---------------------------------------------------------------------------- jit cores

_jit = functools.partial(jax.jit, static_argnums=(0, 1))


@_jit
def _qmap_core(spec, depth, sigma_w2, sigma_b2, q0):
  k = _kernels(spec)

  def layer(q, _):
    q_next = k.next_q(sigma_w2, sigma_b2, q)
    return q_next, q_next

  _, qs = lax.scan(layer, q0, None, length=depth)
  return jnp.concatenate([q0[None], qs])


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _pair_core(spec, depth, with_ntk, sigma_w2, sigma_b2, q0, c0):
  """Per layer c (and the NTK pair when with_ntk) for two inputs with equal q, via 1 - c."""
  k = _kernels(spec)

  def layer(state, _):
    q, delta, theta_aa, theta_ab = state
    q_next = k.next_q(sigma_w2, sigma_b2, q)
    delta_next = k.next_delta(sigma_w2, sigma_b2, q, delta)
    if with_ntk:
      theta_aa = q_next + sigma_w2 * theta_aa * k.slope_var(q)
      theta_ab = q_next * (1.0 - delta_next) + sigma_w2 * theta_ab * k.slope_cov(q, delta)
    state = (q_next, delta_next, theta_aa, theta_ab)
    return state, state[1:]

  start = (q0, 1.0 - c0, q0, q0 * c0)
  _, trail = lax.scan(layer, start, None, length=depth)
  delta, theta_aa, theta_ab = (jnp.concatenate([x[None], xs])
                               for x, xs in zip(start[1:], trail, strict=True))
  return 1.0 - delta, theta_aa, theta_ab


@_jit
def _point_core(spec, what, sigma_w2, sigma_b2):
  """Everything evaluated at the fixed point; `what` picks it so unused work is not traced."""
  k = _kernels(spec)
  q = k.q_star(sigma_w2, sigma_b2)
  chi = sigma_w2 * k.slope_var(q)
  if what == "chi1":
    return chi
  if what == "jacobian":
    return k.slope_var(q), k.slope_power(q, 4.0)
  # fixed_point and depth_scales share one compiled program: the extra terms are cheap.
  # Within rounding of chi1 = 1 the chaotic c* is 1 as well, and its c-map is flat.
  ordered = chi <= 1 + _CRITICAL_TOLERANCE
  delta = lax.cond(ordered, jnp.zeros_like, lambda q: k.delta_star(sigma_w2, sigma_b2, q), q)
  chi_q = sigma_w2 * (k.slope_var(q) + k.curvature(q))
  chi_c = jnp.where(ordered, chi, k.correlation_slope(sigma_w2, sigma_b2, q, delta))
  scales = DepthScales(*(jnp.where(x < 1, -1.0 / jnp.log(x), jnp.inf) for x in (chi_q, chi_c)))
  return FixedPoint(q, 1.0 - delta), scales


@functools.partial(jax.jit, static_argnums=0)
def _edge_core(spec, sigma_b2):
  return EdgeOfChaos(*_kernels(spec).edge(sigma_b2))


@_jit
def _grad_core(spec, depth, sigma_w2, sigma_b2, q0, width_ratios):
  k = _kernels(spec)
  qs = _qmap_core(spec, depth, sigma_w2, sigma_b2, q0)
  gains = sigma_w2 * jax.vmap(k.slope_var)(qs[:-1]) * width_ratios
  # log-space reverse cumulative product: each layer's factor applied once, no unrolling
  log_tail = jnp.cumsum(jnp.log(gains)[::-1])[::-1]
  return jnp.exp(jnp.concatenate([log_tail, jnp.zeros(1)]))


# ---------------------------------------------------------------------------- public API

def qmap(activation, sigma_w2, sigma_b2, q0, depth: int, *, param: float | None = None) -> jax.Array:
  r"""Per-layer second moment of pre-activations (the length map).

  .. math::
    q^{l+1} = \sigma_w^2 \, E_z[\phi(\sqrt{q^l} z)^2] + \sigma_b^2

  Args:
    activation: name (``"tanh"``, ``"relu"``, ``"leaky_relu"``, ...) or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    q0: second moment of the first layer's pre-activations, ``sigma_w2 |x|^2 / N_0 + sigma_b2``.
    depth: number of maps to apply (static).
    param: negative slope for ``"leaky_relu"``.

  Returns:
    float64 array of shape ``(depth + 1,)`` (after any broadcast shape of the scalars):
    ``q[0] = q0`` and ``q[k]`` is the second moment of ``h^{k+1}``.

  Raises:
    ValueError: for an unknown activation, ``depth < 0``, or a negative ``sigma_w2``,
      ``sigma_b2`` or ``q0``.

  Examples:
    >>> from jaxinit import theory
    >>> print(theory.qmap("relu", 2.0, 0.1, 1.0, 3))
    [1.  1.1 1.2 1.3]

  References:
    Poole et al., Exponential expressivity in deep neural networks through transient
    chaos, 2016.
  """
  where = "qmap"
  spec = _spec(activation, param, where)
  depth = _check_depth(depth, where)
  for name, value in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2), ("q0", q0)):
    _check_range(value, name, where)
  return _float64_call(_qmap_core, (spec, depth), sigma_w2, sigma_b2, q0)


def cmap(activation, sigma_w2, sigma_b2, q0, c0, depth: int, *,
         param: float | None = None) -> jax.Array:
  r"""Per-layer correlation of two inputs whose pre-activations share the second moment q.

  .. math::
    c^{l+1} = \frac{\sigma_w^2 E[\phi(u_1) \phi(u_2)] + \sigma_b^2}{q^{l+1}}, \quad
    u_1 = \sqrt{q^l} z_1, \; u_2 = \sqrt{q^l} (c^l z_1 + \sqrt{1 - (c^l)^2} z_2)

  with ``q^l`` following :func:`qmap`. Internally ``1 - c`` is propagated
  (as ``E[(phi(u1) - phi(u2))^2] / 2``), so it stays accurate far below float64's
  resolution of ``c`` near 1.

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    q0: second moment of both inputs' first-layer pre-activations.
    c0: their correlation, in [-1, 1].
    depth: number of maps to apply (static).
    param: negative slope for ``"leaky_relu"``.

  Returns:
    float64 array of shape ``(depth + 1,)``: ``c[0] = c0``, ``c[k]`` the correlation of
    ``h^{k+1}``.

  Raises:
    ValueError: for an unknown activation, ``depth < 0``, a negative variance or ``q0``,
      or ``c0`` outside [-1, 1].

  Examples:
    >>> from jaxinit import theory
    >>> c = theory.cmap("relu", 2.0, 0.0, 1.0, 0.0, 2)
    >>> print(c.round(4))
    [0.     0.3183 0.4937]

  References:
    Poole et al., Exponential expressivity in deep neural networks through transient
    chaos, 2016; Cho & Saul, Kernel methods for deep learning, 2009.
  """
  where = "cmap"
  spec = _spec(activation, param, where)
  depth = _check_depth(depth, where)
  for name, value in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2), ("q0", q0)):
    _check_range(value, name, where)
  _check_range(c0, "c0", where, -1.0, 1.0)
  return _float64_call(_pair_core, (spec, depth, False), sigma_w2, sigma_b2, q0, c0)[0]


def ntk(activation, sigma_w2, sigma_b2, q0, c0, depth: int, *,
        param: float | None = None) -> NeuralTangentKernel:
  r"""Per-layer neural tangent kernel (NTK parametrisation) of two inputs with equal q.

  .. math::
    \Theta^{l+1} = q_{ab}^{l+1} + \sigma_w^2 \, \Theta^l \, E[\phi'(u_1) \phi'(u_2)],
    \quad \Theta^1 = q_{ab}^1

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    q0: second moment of both inputs' first-layer pre-activations.
    c0: their correlation, in [-1, 1].
    depth: number of maps to apply (static).
    param: negative slope for ``"leaky_relu"``.

  Returns:
    ``NeuralTangentKernel(diagonal, off_diagonal)``, each float64 of shape
    ``(depth + 1,)``, index k for the kernel of ``h^{k+1}``: ``diagonal[0] = q0`` and
    ``off_diagonal[0] = q0 c0``.

  Raises:
    ValueError: as :func:`cmap`.

  Examples:
    >>> from jaxinit import theory
    >>> print(theory.ntk("relu", 2.0, 0.0, 1.0, 1.0, 3).diagonal)
    [1. 2. 3. 4.]

  References:
    Jacot, Gabriel & Hongler, Neural Tangent Kernel: Convergence and Generalization in
    Neural Networks, 2018.
  """
  where = "ntk"
  spec = _spec(activation, param, where)
  depth = _check_depth(depth, where)
  for name, value in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2), ("q0", q0)):
    _check_range(value, name, where)
  _check_range(c0, "c0", where, -1.0, 1.0)
  _, diagonal, off_diagonal = _float64_call(
      _pair_core, (spec, depth, True), sigma_w2, sigma_b2, q0, c0)
  return NeuralTangentKernel(diagonal, off_diagonal)


def _point(what, activation, sigma_w2, sigma_b2, param, where):
  spec = _spec(activation, param, where)
  _check_range(sigma_w2, "sigma_w2", where)
  _check_range(sigma_b2, "sigma_b2", where)
  return _float64_call(_point_core, (spec, what), sigma_w2, sigma_b2)


def fixed_point(activation, sigma_w2, sigma_b2, *, param: float | None = None) -> FixedPoint:
  r"""Stable fixed point (q*, c*) of the length and correlation maps.

  .. math::
    q^* = \sigma_w^2 E[\phi(\sqrt{q^*} z)^2] + \sigma_b^2, \qquad c^* = C(c^*; q^*)

  q* is the fixed point the q-map reaches from q = 1 (map iterations, then Newton);
  ``inf`` when the q-map diverges (unbounded activations above their critical
  ``sigma_w2``, or ReLU-like exactly at it with ``sigma_b2 > 0``). c* = 1 in the ordered
  phase (``chi1 <= 1``); in the chaotic phase it is the fixed point the c-map at q*
  reaches from c = 0 (0 for odd activations without bias). ReLU and leaky ReLU have
  c* = 1 for every ``sigma_w2``: their c-map only contracts towards 1.

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    param: negative slope for ``"leaky_relu"``.

  Returns:
    ``FixedPoint(q_star, c_star)``, float64 scalars (or the broadcast shape of the inputs).

  Raises:
    ValueError: for an unknown activation or a negative ``sigma_w2`` or ``sigma_b2``.

  Examples:
    >>> from jaxinit import theory
    >>> fp = theory.fixed_point("tanh", 4.0, 0.05)
    >>> print(f"{fp.q_star:.4f} {fp.c_star:.4f}")
    2.1955 0.1651

  References:
    Poole et al., Exponential expressivity in deep neural networks through transient
    chaos, 2016.
  """
  return _point("point", activation, sigma_w2, sigma_b2, param, "fixed_point")[0]


def chi1(activation, sigma_w2, sigma_b2, *, param: float | None = None) -> jax.Array:
  r"""Slope of the correlation map at c = 1: < 1 ordered, > 1 chaotic, = 1 edge of chaos.

  .. math::
    \chi_1 = \sigma_w^2 \, E[\phi'(\sqrt{q^*} z)^2]

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    param: negative slope for ``"leaky_relu"``.

  Returns:
    float64 ``chi1`` at the q* of :func:`fixed_point`.

  Raises:
    ValueError: for an unknown activation or a negative ``sigma_w2`` or ``sigma_b2``.

  Examples:
    >>> from jaxinit import theory
    >>> print(f"{theory.chi1('relu', 2.0, 0.0):.3f}")
    1.000

  References:
    Poole et al., Exponential expressivity in deep neural networks through transient
    chaos, 2016.
  """
  return _point("chi1", activation, sigma_w2, sigma_b2, param, "chi1")


def depth_scales(activation, sigma_w2, sigma_b2, *, param: float | None = None) -> DepthScales:
  r"""Depths over which the length and the correlation approach their fixed points.

  .. math::
    \xi_q^{-1} = -\log(\chi_1 + \sigma_w^2 E[\phi''(u) \phi(u)]), \qquad
    \xi_c^{-1} = -\log(\sigma_w^2 E[\phi'(u_1^*) \phi'(u_2^*)])

  at (q*, c*); in the ordered phase ``xi_c = -1 / log(chi1)``. A slope >= 1 (edge of
  chaos, or ReLU-like maps above it, whose correlation converges only algebraically)
  gives ``inf``. Networks train roughly while depth < 6 xi_c.

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    param: negative slope for ``"leaky_relu"``.

  Returns:
    ``DepthScales(xi_q, xi_c)``, float64.

  Raises:
    ValueError: for an unknown activation or a negative ``sigma_w2`` or ``sigma_b2``.

  Examples:
    >>> from jaxinit import theory
    >>> print(f"{theory.depth_scales('relu', 1.0, 0.1).xi_c:.3f}")
    1.443

  References:
    Schoenholz, Gilmer, Ganguli & Sohl-Dickstein, Deep Information Propagation, 2017.
  """
  return _point("point", activation, sigma_w2, sigma_b2, param, "depth_scales")[1]


def edge_of_chaos(activation, sigma_b2, *, param: float | None = None) -> EdgeOfChaos:
  r"""Critical weight variance where chi1 = 1, for a given bias variance.

  .. math::
    q^* = \frac{E[\phi(\sqrt{q^*} z)^2]}{E[\phi'(\sqrt{q^*} z)^2]} + \sigma_b^2, \qquad
    \sigma_w^2 = \frac{1}{E[\phi'(\sqrt{q^*} z)^2]}

  solved by 80 bisections of log q* over [1e-30, 1e4] (jittable, vmappable over
  ``sigma_b2``). ReLU-like activations have ``sigma_w2 = 2 / (1 + a^2)`` with q* = inf
  (nan when ``sigma_b2 = 0``: every q is then fixed).

  Args:
    activation: name or hashable callable.
    sigma_b2: bias variance.
    param: negative slope for ``"leaky_relu"``.

  Returns:
    ``EdgeOfChaos(sigma_w2, q_star)``, float64; nan where no root lies in the bracket.

  Raises:
    ValueError: for an unknown activation or a negative ``sigma_b2``.

  Examples:
    >>> from jaxinit import theory
    >>> edge = theory.edge_of_chaos("tanh", 0.05)
    >>> print(f"{edge.sigma_w2:.3f} {edge.q_star:.3f}")
    1.761 0.570

  References:
    Schoenholz, Gilmer, Ganguli & Sohl-Dickstein, Deep Information Propagation, 2017.
  """
  where = "edge_of_chaos"
  spec = _spec(activation, param, where)
  _check_range(sigma_b2, "sigma_b2", where)
  return _float64_call(_edge_core, (spec,), sigma_b2)


def grad_map(activation, sigma_w2, sigma_b2, q0, depth: int, *,
             widths: Sequence[float] | None = None, param: float | None = None) -> jax.Array:
  r"""Per-layer second moment of the backpropagated error, relative to the last layer.

  .. math::
    \tilde q^l = \tilde q^{l+1} \, \sigma_w^2 \, E[\phi'(\sqrt{q^l} z)^2] \, N_{l+1} / N_l,
    \qquad \delta^l = \partial L / \partial h^l

  along the forward trajectory of :func:`qmap` (``Var W^{l+1} = sigma_w2 / N_l``).

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    q0: second moment of the first layer's pre-activations.
    depth: number of maps (static): pre-activation layers ``h^1 .. h^{depth+1}``.
    widths: optional widths ``N_1 .. N_{depth+1}`` of those layers (length ``depth + 1``);
      default equal widths.
    param: negative slope for ``"leaky_relu"``.

  Returns:
    float64 array ``g`` of shape ``(depth + 1,)`` with ``g[k] = qtilde(h^{k+1}) /
    qtilde(h^{depth+1})``: the last entry is 1 and ``g[0]`` is the gain from the output
    back to the first layer (> 1 exploding, < 1 vanishing). The gradient of
    ``W^{k+1}`` has second moment proportional to ``g[k] E[x_k^2]`` (``x_0`` the input,
    ``x_k = phi(h^k)``).

  Raises:
    ValueError: for an unknown activation, ``depth < 0``, a negative variance or ``q0``,
      or widths of the wrong length or not positive.

  Examples:
    >>> from jaxinit import theory
    >>> print(theory.grad_map("relu", 2.0, 0.0, 1.0, 3, widths=[100, 200, 200, 100]))
    [1.  0.5 0.5 1. ]

  References:
    Schoenholz, Gilmer, Ganguli & Sohl-Dickstein, Deep Information Propagation, 2017.
  """
  where = "grad_map"
  spec = _spec(activation, param, where)
  depth = _check_depth(depth, where)
  for name, value in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2), ("q0", q0)):
    _check_range(value, name, where)
  if widths is None:
    ratios = np.ones(depth)
  else:
    n = np.asarray(widths, dtype=np.float64)
    if n.shape != (depth + 1,) or not np.all(np.isfinite(n) & (n > 0)):
      raise ValueError(f"{where}: widths={widths!r} must be {depth + 1} positive numbers "
                       f"(N_1 .. N_{{depth+1}}) for depth={depth}")
    ratios = n[1:] / n[:-1]

  def core(spec, depth, sigma_w2, sigma_b2, q0):
    return _grad_core(spec, depth, sigma_w2, sigma_b2, q0, jnp.asarray(ratios, jnp.float64))

  return _float64_call(core, (spec, depth), sigma_w2, sigma_b2, q0)


def jacobian_spectrum_variance(activation, sigma_w2, sigma_b2, depth: int, *,
                               orthogonal: bool = False,
                               param: float | None = None) -> JacobianSpectrum:
  r"""Predicted spread of the squared singular values of the input-output Jacobian.

  .. math::
    \frac{\mathrm{Var}[\lambda]}{E[\lambda]^2} = L \left(\frac{\mu_2}{\mu_1^2} - 1 - s_1\right),
    \quad E[\lambda] = \chi_1^L, \quad \mu_k = E[\phi'(\sqrt{q^*} z)^{2k}]

  for the eigenvalues lambda of ``J J^T`` over ``L = depth`` layers at q*, with
  ``s_1 = -1`` for Gaussian and 0 for orthogonal weights. At chi1 = 1 the mean is 1 and
  ``variance`` is the variance itself: ``L`` for linear Gaussian, ``2 L`` for ReLU
  Gaussian, ``L`` for ReLU orthogonal, -> 0 for tanh orthogonal as q* -> 0.

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    depth: number of layers L (static).
    orthogonal: orthogonal rather than Gaussian weights.
    param: negative slope for ``"leaky_relu"``.

  Returns:
    ``JacobianSpectrum(variance, mean, mu1, mu2)``, float64: ``variance`` is the
    variance divided by the squared mean (the formula above).

  Raises:
    ValueError: for an unknown activation, ``depth < 0`` or a negative variance.

  Examples:
    >>> from jaxinit import theory
    >>> print(f"{theory.jacobian_spectrum_variance('relu', 2.0, 0.0, 10).variance:.1f}")
    20.0

  References:
    Pennington, Schoenholz & Ganguli, Resurrecting the sigmoid in deep learning through
    dynamical isometry: theory and practice, 2017.
  """
  where = "jacobian_spectrum_variance"
  depth = _check_depth(depth, where)
  mu1, mu2 = _point("jacobian", activation, sigma_w2, sigma_b2, param, where)
  with jax.enable_x64(True):
    s1 = 0.0 if orthogonal else -1.0
    variance = depth * (mu2 / mu1**2 - 1.0 - s1)
    mean = (jnp.asarray(sigma_w2, jnp.float64) * mu1) ** depth
    return JacobianSpectrum(variance, mean, mu1, mu2)


def relu_log_norm_moments(widths: Sequence[int], *, exact: bool = False) -> LogNormMoments:
  r"""Mean and variance of log(M_L / M_0) for a finite-width ReLU network at He init.

  .. math::
    M_l = |x^l|^2 / N_l, \quad \frac{M_l}{M_{l-1}} = \frac{2}{N_l} \chi^2_{K_l},
    \quad K_l \sim \mathrm{Binomial}(N_l, 1/2)

  independent across layers (Gaussian weights, no bias). Asymptotically
  ``mean = -5 beta / 2`` and ``var = 5 beta`` with ``beta = sum 1 / N_l``. With
  ``exact=True`` the sums over K use ``E[log chi2_k] = digamma(k/2) + log 2`` and
  ``Var = trigamma(k/2)``, conditioned on ``K_l > 0`` in every layer (else the network
  output is 0 and the log is -inf; that happens with probability ``2^-N_l`` per layer).

  Args:
    widths: widths ``N_1 .. N_L`` of the hidden layers (positive ints; static).
    exact: use the exact per-layer law instead of the large-width asymptotics.

  Returns:
    ``LogNormMoments(mean, var)``, float64 scalars.

  Raises:
    ValueError: if ``widths`` is empty or holds a non-positive or non-integer width.

  Examples:
    >>> from jaxinit import theory
    >>> m = theory.relu_log_norm_moments([100] * 10)
    >>> print(f"{m.mean:.3f} {m.var:.3f}")
    -0.250 0.500

  References:
    Hanin & Nica, Products of Many Large Random Matrices and Gradients in Deep Neural
    Networks, 2019; Hanin & Rolnick, How to Start Training: The Effect of Initialization
    and Architecture, 2018.
  """
  where = "relu_log_norm_moments"
  try:
    ns = [w for w in widths]
  except TypeError as e:
    raise ValueError(f"{where}: widths={widths!r} must be a sequence of positive ints") from e
  if not ns or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
                       for n in ns):
    raise ValueError(f"{where}: widths={widths!r} must be a non-empty sequence of positive ints")
  counts: dict[int, int] = {}
  for n in ns:
    counts[int(n)] = counts.get(int(n), 0) + 1
  with jax.enable_x64(True):
    if not exact:
      beta = sum(c / n for n, c in counts.items())
      return LogNormMoments(jnp.float64(-2.5 * beta), jnp.float64(5.0 * beta))
    mean, var = jnp.float64(0.0), jnp.float64(0.0)
    for n, repeats in counts.items():
      layer_mean, layer_var = _relu_layer_log_moments(n)
      mean, var = mean + repeats * layer_mean, var + repeats * layer_var
    return LogNormMoments(mean, var)


@functools.partial(jax.jit, static_argnums=0)
def _relu_layer_log_moments(n: int):
  """E and Var of log((2/n) chi2_K), K ~ Binomial(n, 1/2) conditioned on K > 0."""
  k = jnp.arange(1, n + 1, dtype=jnp.float64)
  gammaln = jax.scipy.special.gammaln
  log_pmf = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0) - n * math.log(2.0)
  weights = jnp.exp(log_pmf) / -jnp.expm1(-n * math.log(2.0))
  log_chi2_mean = jax.scipy.special.digamma(k / 2) + math.log(2.0)
  log_chi2_var = jax.scipy.special.polygamma(1, k / 2)
  mean = jnp.sum(weights * log_chi2_mean)
  var = jnp.sum(weights * (log_chi2_var + (log_chi2_mean - mean) ** 2))
  return mean + math.log(2.0 / n), var
