"""Fixed points of the length and correlation maps, and the phase diagram around them.

q* is the fixed point the length map reaches from q = 1 (unit-variance inputs with unit
weight variance), found by a scan in factors of 2 and bisection in log q; its stability is
the length map's slope there (:func:`length_map_slope`). chi_1, the correlation map's slope
at c = 1, splits ordered from chaotic phases (Poole et al. 2016); the depth scales say how
fast q and c forget their inputs (Schoenholz et al. 2017).
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxinit.theory import _checks
from jaxinit.theory._kernels import Q2_MAX, kernels
from jaxinit.theory._maps import unresolved_message

_CRITICAL_TOLERANCE = 1e-10  # chi1 this close above 1 counts as ordered: c* = 1


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


@functools.partial(jax.jit, static_argnums=(0, 1))
def _point_core(spec, what, sigma_w2, sigma_b2):
  """Everything evaluated at q*; `what` picks it so unused work is not traced.

  Returns (value, ok, q*): ok says the quadrature behind the value is accurate.
  """
  k = kernels(spec)
  q = k.q_star(sigma_w2, sigma_b2)
  ok = k.resolved(q) if _checks.is_callable_spec(spec) else jnp.asarray(True)
  chi = sigma_w2 * k.slope_var(q)
  slope = sigma_w2 * (k.slope_var(q) + k.curvature(q))
  if what == "slopes":  # chi1, the length map's slope and the Jacobian's moments: one program
    return (chi, slope, k.slope_var(q), k.slope_power(q, 4.0)), ok, q
  # Within rounding of chi1 = 1 the chaotic c* is 1 as well, and its c-map is flat. A
  # diverging q (q* = inf) leaves the c-map of phi's linear growth, which like ReLU's only
  # contracts towards 1, and only algebraically (slope 1).
  diverged = jnp.isinf(q)
  ordered = (chi <= 1 + _CRITICAL_TOLERANCE) | diverged
  delta = lax.cond(ordered, jnp.zeros_like, lambda q: k.delta_star(sigma_w2, sigma_b2, q), q)
  chi_c = jnp.where(ordered, chi, k.correlation_slope(sigma_w2, sigma_b2, q, delta))
  chi_c = jnp.where(diverged, 1.0, chi_c)
  if not k.closed_form_2d:
    ok = ok & (ordered | (q <= Q2_MAX))
  # a slope within rounding of 1 (tanh without bias at sigma_w2 = 1: q* = 0, chi1 = 1) is critical
  scales = DepthScales(*(jnp.where(x < 1 - 1e-12, -1.0 / jnp.log(x), jnp.inf) for x in (slope, chi_c)))
  return (FixedPoint(q, 1.0 - delta), scales), ok, q


@functools.partial(jax.jit, static_argnums=0)
def _edge_core(spec, sigma_b2):
  k = kernels(spec)
  sigma_w2, q = k.edge(sigma_b2)
  ok = k.resolved(q) if _checks.is_callable_spec(spec) else jnp.asarray(True)
  if not k.exact_edge:  # leaky ReLU's edge is exact; others must be the q* reached from 1
    reached = k.q_star(sigma_w2, sigma_b2)
    same = (jnp.abs(reached - q) <= 1e-6 * q) | ((q == 0) & (reached <= 1e-12))
    sigma_w2, q = jnp.where(same, sigma_w2, jnp.nan), jnp.where(same, q, jnp.nan)
  return EdgeOfChaos(sigma_w2, q), ok, q


def point(what, activation, sigma_w2, sigma_b2, param, where):
  spec = _checks.spec(activation, param, where)
  _checks.check_range(sigma_w2, "sigma_w2", where)
  _checks.check_range(sigma_b2, "sigma_b2", where)
  value, ok, q = _checks.float64_call(_point_core, (spec, what), sigma_w2, sigma_b2)
  return _checks.refuse_unresolved(
      value, ok, lambda: unresolved_message(where, activation, q, two_d=what == "point"))


def fixed_point(activation, sigma_w2, sigma_b2, *, param: float | None = None) -> FixedPoint:
  r"""Stable fixed point (q*, c*) of the length and correlation maps.

  .. math::
    q^* = \sigma_w^2 E[\phi(\sqrt{q^*} z)^2] + \sigma_b^2, \qquad c^* = C(c^*; q^*)

  q* is the fixed point the q-map reaches from ``q0 = 1``: the first fixed point in the
  direction the map moves from there (for a length map increasing in q, as every named
  activation's is, the iterates cannot pass one), found by scanning q in factors of 2 and
  bisecting in log q. It is ``inf`` when the q-map diverges (unbounded activations above
  their critical ``sigma_w2``, ReLU-like exactly at it with ``sigma_b2 > 0``, or GELU, SiLU
  and Mish without bias above ``sigma_w2`` = 2.36, 2.82 and 2.22), and 0 when q decays to 0. q* need not
  be stable: GELU and SiLU without bias have an unstable fixed point between q -> 0 and
  q -> inf; :func:`length_map_slope` gives the slope that decides. c* = 1 in the ordered
  phase (``chi1 <= 1``) and when q* = inf; in the chaotic phase it is the fixed point the
  c-map at q* reaches from c = 0 (0 for odd activations without bias). ReLU and leaky ReLU
  have c* = 1 for every ``sigma_w2``: their c-map only contracts towards 1.

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    param: negative slope for ``"leaky_relu"``.

  Returns:
    ``FixedPoint(q_star, c_star)``, float64 scalars (or the broadcast shape of the inputs).

  Raises:
    ValueError: for an unknown activation or a negative ``sigma_w2`` or ``sigma_b2``; for a
      chaotic c* at q* > 50 of an activation without a closed-form correlation map (its 2-D
      quadrature is accurate only below); for a callable the quadrature does not resolve.

  Examples:
    >>> from jaxinit import theory
    >>> fp = theory.fixed_point("tanh", 4.0, 0.05)
    >>> print(f"{fp.q_star:.4f} {fp.c_star:.4f}")
    2.1955 0.1651

  References:
    Poole et al., Exponential expressivity in deep neural networks through transient
    chaos, 2016.
  """
  return point("point", activation, sigma_w2, sigma_b2, param, "fixed_point")[0]


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
    float64 ``chi1`` at the q* of :func:`fixed_point`; where q* = inf, its limit
    ``sigma_w2 E[phi'(u)^2]`` as q -> inf (``sigma_w2 / 2`` for GELU and SiLU).

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
  return point("slopes", activation, sigma_w2, sigma_b2, param, "chi1")[0]


def depth_scales(activation, sigma_w2, sigma_b2, *, param: float | None = None) -> DepthScales:
  r"""Depths over which the length and the correlation approach their fixed points.

  .. math::
    \xi_q^{-1} = -\log(\chi_1 + \sigma_w^2 E[\phi''(u) \phi(u)]), \qquad
    \xi_c^{-1} = -\log(\sigma_w^2 E[\phi'(u_1^*) \phi'(u_2^*)])

  at (q*, c*); in the ordered phase ``xi_c = -1 / log(chi1)``. A slope >= 1 (edge of
  chaos, or ReLU-like maps above it, whose correlation converges only algebraically)
  gives ``inf``, as does q* = inf. The first factor is :func:`length_map_slope`.
  Networks train roughly while depth < 6 xi_c.

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
  return point("point", activation, sigma_w2, sigma_b2, param, "depth_scales")[1]


def length_map_slope(activation, sigma_w2, sigma_b2, *, param: float | None = None) -> jax.Array:
  r"""Slope of the length map at its fixed point q*: whether q* is stable.

  .. math::
    \frac{d q^{l+1}}{d q^l}\Big|_{q^*} = \sigma_w^2 \left(E[\phi'(\sqrt{q^*} z)^2]
      + E[\phi''(\sqrt{q^*} z) \phi(\sqrt{q^*} z)]\right)

  (Gaussian integration by parts). Below 1 q* is stable and nearby q converge to it
  geometrically, at rate ``exp(-1 / xi_q)``; at 1 it is marginal (power-law approach); above
  1 it is unstable: the map sits there only if it starts exactly there, and any
  perturbation runs away. :func:`chi1` describes correlations and says nothing about this:
  GELU and SiLU without bias at ``sigma_w2`` between 2 and 4 have an unstable q*.

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    param: negative slope for ``"leaky_relu"``.

  Returns:
    float64 slope at the q* of :func:`fixed_point`; where q* = inf, its limit as q -> inf
    (for a linearly growing activation the growth factor per layer, >= 1).

  Raises:
    ValueError: for an unknown activation or a negative ``sigma_w2`` or ``sigma_b2``.

  Examples:
    >>> from jaxinit import theory
    >>> print(f"{theory.length_map_slope('tanh', 1.0, 0.05):.4f}")
    0.5643

  References:
    Schoenholz, Gilmer, Ganguli & Sohl-Dickstein, Deep Information Propagation, 2017.
  """
  return point("slopes", activation, sigma_w2, sigma_b2, param, "length_map_slope")[1]


def edge_of_chaos(activation, sigma_b2, *, param: float | None = None) -> EdgeOfChaos:
  r"""Critical weight variance where chi1 = 1, for a given bias variance.

  .. math::
    q^* = \frac{E[\phi(\sqrt{q^*} z)^2]}{E[\phi'(\sqrt{q^*} z)^2]} + \sigma_b^2, \qquad
    \sigma_w^2 = \frac{1}{E[\phi'(\sqrt{q^*} z)^2]}

  solved by 80 bisections of log q* over [1e-30, 1e4] (jittable, vmappable over
  ``sigma_b2``). The root counts only if its q* is the fixed point the length map reaches
  from q = 1 (:func:`fixed_point`): GELU and SiLU without bias satisfy the equations at
  ``sigma_w2 = 4``, q* = 0, but from q = 1 their length map already diverges there (and
  sends q to 0 below 2.36 and 2.82), so no plain deep network of them sits at the edge: nan.
  ReLU-like activations have ``sigma_w2 = 2 / (1 + a^2)`` with q* = inf (nan when
  ``sigma_b2 = 0``: every q is then fixed).

  Args:
    activation: name or hashable callable.
    sigma_b2: bias variance.
    param: negative slope for ``"leaky_relu"``.

  Returns:
    ``EdgeOfChaos(sigma_w2, q_star)``, float64; nan where no root lies in the bracket or
    the root is not reached from q = 1.

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
  spec = _checks.spec(activation, param, where)
  _checks.check_range(sigma_b2, "sigma_b2", where)
  edge, ok, q = _checks.float64_call(_edge_core, (spec,), sigma_b2)
  return _checks.refuse_unresolved(
      edge, ok, lambda: unresolved_message(where, activation, q, two_d=False))
