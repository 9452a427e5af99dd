"""Gaussian kernels of an activation: the expectations every mean-field map is built from.

``_QuadratureKernels`` integrates any elementwise activation numerically (the scale-aware
1-D rule of ``_quadrature``, and a 2-D rule split along both kinks); ``_ErfKernels`` and
``_LeakyKernels`` override it with closed forms (the arcsine and arc-cosine kernels).
Inside these classes everything is a traced float64 scalar; ``delta = 1 - c``.

References:
  Poole et al., Exponential expressivity in deep neural networks through transient chaos, 2016;
  Cho & Saul, Kernel methods for deep learning, 2009; Williams, Computing with infinite
  networks, 1997.
"""

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxinit.core._activations import gauss_rule, resolve
from jaxinit.theory import _quadrature
from jaxinit.theory._quadrature import Z_MAX

# The 2-D rule: 2 x 80 outer nodes times 5 panels x 32 inner nodes (25,600 points) agree
# with the erf and ReLU closed forms to ~1e-11 for q <= 50 and every c in [-1, 1].
_Z2_OUTER, _W2_OUTER = gauss_rule(80)
_LEG_X, _LEG_W = np.polynomial.legendre.leggauss(32)
_SQRT_2PI = math.sqrt(2.0 * math.pi)

Q2_MAX = 50.0  # the 2-D rule's range: beyond, the activation's scale falls between its nodes
Q_LIMIT = 1e100  # slopes at q >= Q_LIMIT (or inf) are read here, where every named activation has its limit
_FIXED_POINT_MAP_STEPS = 64
_NEWTON_STEPS = 40
Q_DIVERGED = 1e250  # past this the q-map has no finite fixed point within float64
_LOG_BISECTIONS = 64  # a factor-2 bracket in log q, halved to below float64 resolution
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

  closed_form_2d = False
  exact_edge = False  # the edge's q* must then be checked against the q* reached from q = 1

  def __init__(self, fn: Callable[[jax.Array], jax.Array]):
    self.fn = lambda x: jnp.asarray(fn(x), jnp.float64)
    self.slope = _slope_fn(self.fn)
    self.curve = _slope_fn(self.slope)

  def _mean(self, integrand, q, *, slopes=False):
    # q = inf only arises when E[phi^2] overflowed: phi grows, and its slopes are read far out
    if slopes:  # beyond Q_LIMIT slopes have their limits, and phi' of a huge u may be inf * 0
      return _quadrature.normal_mean(integrand, _root(jnp.minimum(q, Q_LIMIT)))
    value = _quadrature.normal_mean(integrand, jnp.sqrt(jnp.where(jnp.isinf(q), Q_LIMIT, q)))
    return jnp.where(jnp.isinf(q), jnp.inf, value)

  def resolved(self, q):
    """Whether the 1-D rule resolves E[phi^2] and E[phi'^2] at q (a check for callables)."""
    q = jnp.minimum(q, Q_LIMIT)
    return (_quadrature.resolved(lambda u: self.fn(u) ** 2, jnp.sqrt(q))
            & _quadrature.resolved(lambda u: self.slope(u) ** 2, _root(q)))

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

  def q_star(self, sigma_w2, sigma_b2, q0=1.0):
    """The fixed point the q-map reaches from q0 (inf if it diverges).

    For a length map that increases with q (every named activation's does) the iterates
    move monotonically towards the first fixed point in the direction of T(q0) - q0. That
    direction is scanned in factors of 2 for the first sign change of T(q) - q, and the
    bracket is bisected in log q: no step can jump past a fixed point into another
    one's basin, as Newton's method can where the map has several (GELU, SiLU, Mish).
    """
    def excess(q):
      return self.next_q(sigma_w2, sigma_b2, q) - q

    q0 = jnp.asarray(q0, jnp.float64)
    direction = jnp.sign(excess(q0))
    log_q0 = jnp.log(jnp.maximum(q0, 1e-300))
    log_2, log_min, log_max = math.log(2.0), math.log(1e-300), math.log(Q_DIVERGED)

    def keep_scanning(state):
      _, crossed, outside = state
      return ~crossed & ~outside

    def octave(state):  # one factor of 2 further in the direction of motion
      k = state[0] + 1.0
      log_q = log_q0 + direction * log_2 * k
      outside = ~((log_q > log_min) & (log_q < log_max))  # nan stops the scan too
      return k, ~outside & (direction * excess(jnp.exp(log_q)) <= 0), outside

    start = (jnp.float64(0.0), jnp.asarray(False), jnp.asarray(False))
    first, found, _ = lax.while_loop(keep_scanning, octave, start)
    far = log_q0 + direction * log_2 * first
    near = far - direction * log_2

    def bisect(_, bracket):
      near, far = bracket
      mid = 0.5 * (near + far)
      ahead = direction * excess(jnp.exp(mid)) > 0
      return jnp.where(ahead, mid, near), jnp.where(ahead, far, mid)

    near, far = lax.fori_loop(0, _LOG_BISECTIONS, bisect, (near, far))
    root = jnp.exp(0.5 * (near + far))
    # no sign change: upwards the map diverges, downwards it decays to 0 (phi(0) = 0, no bias)
    beyond = jnp.where(direction > 0, jnp.inf, 0.0)
    return jnp.where(direction == 0, q0, jnp.where(found, root, beyond))

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
    q = jnp.where(excess(lo) > 1e-12 * jnp.exp(lo), q, 0.0)  # within rounding of 0: q* = 0
    q = jnp.where(excess(hi) < 0, q, jnp.nan)
    return 1.0 / self.slope_var(q), q


class _ErfKernels(_QuadratureKernels):
  """erf(x): arcsine kernel E[erf(u1) erf(u2)] = (2/pi) arcsin(2 q_ab / (1 + 2 q))."""

  closed_form_2d = True

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

  closed_form_2d = True
  exact_edge = True

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


def kernels(spec) -> _QuadratureKernels:
  """The kernels of a static activation spec: closed forms where they exist."""
  key, param = spec
  if key in ("relu", "leaky_relu", "identity", "linear"):
    return _LeakyKernels({"relu": 0.0, "identity": 1.0, "linear": 1.0}.get(key, param))
  if key == "erf":
    return _ErfKernels()
  if isinstance(key, str):
    return _QuadratureKernels(resolve(key, param).fn)
  return _QuadratureKernels(key)

