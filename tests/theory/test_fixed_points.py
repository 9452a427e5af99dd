"""Fixed points the length map actually reaches, their stability, and overflow to inf.

GELU, SiLU and Mish without bias have a length map with slope sigma_w2 / 4 near q = 0 and
sigma_w2 / 2 far out, so for sigma_w2 > 2 large q runs away; the references below come from
scipy quadrature and root finding, independent of jaxinit.
"""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

import jaxinit.theory as theory

_K = math.sqrt(2 / math.pi)
NUMPY = {
    "gelu": lambda x: 0.5 * x * (1 + math.tanh(_K * (x + 0.044715 * x**3))),
    "silu": lambda x: x * special.expit(x),
    "mish": lambda x: x * math.tanh(np.logaddexp(0, x)),
}


def normal_mean(f, q):
  s = math.sqrt(q)
  density = lambda u: math.exp(-u * u / (2 * q)) / math.sqrt(2 * math.pi * q)  # noqa: E731
  points = [p for p in (0.5 * s, s, 2 * s, 1.0, 4.0, 16.0) if p < 12 * s]
  return sum(integrate.quad(lambda u, g=g: f(g * u) * density(u), 0, 40 * s, points=points, limit=200,
                            epsabs=0, epsrel=1e-13)[0] for g in (1.0, -1.0))


def length_map(name, sigma_w2, sigma_b2):
  return lambda q: sigma_w2 * normal_mean(lambda u: NUMPY[name](u) ** 2, q) + sigma_b2


@pytest.mark.parametrize("name, sigma_w2", [("gelu", 3.0), ("gelu", 4.0), ("gelu", 8.0), ("silu", 4.0),
                                            ("mish", 4.0)])
@pytest.mark.slow
def test_bias_free_gelu_family_diverges_from_q_one(name, sigma_w2):
  # scipy: the length map stays above the diagonal from q = 1 to 1e8, growing by ~sigma_w2/2
  step = length_map(name, sigma_w2, 0.0)
  grid = 2.0 ** np.arange(0, 28, 3)
  assert all(step(q) > q for q in grid)
  np.testing.assert_allclose(step(grid[-1]) / grid[-1], sigma_w2 / 2, rtol=1e-3)
  point = theory.fixed_point(name, sigma_w2, 0.0)
  assert np.isinf(float(point.q_star)) and float(point.c_star) == 1.0
  # the slopes are their q -> inf limits: phi'(+inf) = 1, phi'(-inf) = 0
  np.testing.assert_allclose(float(theory.chi1(name, sigma_w2, 0.0)), sigma_w2 / 2, rtol=1e-12)
  np.testing.assert_allclose(float(theory.length_map_slope(name, sigma_w2, 0.0)), sigma_w2 / 2, rtol=1e-12)
  assert np.all(np.isinf(np.asarray(theory.depth_scales(name, sigma_w2, 0.0))))


@pytest.mark.parametrize("name", ["gelu", pytest.param("silu", marks=pytest.mark.slow)])
def test_stable_fixed_point_with_bias_matches_scipy(name):
  sigma_w2, sigma_b2 = 2.0, 0.05
  step = length_map(name, sigma_w2, sigma_b2)
  q_star = optimize.brentq(lambda q: step(q) - q, 0.01, 1.0, xtol=1e-15, rtol=1e-14)
  h = 1e-5 * q_star
  slope = (step(q_star + h) - step(q_star - h)) / (2 * h)
  point = theory.fixed_point(name, sigma_w2, sigma_b2)
  np.testing.assert_allclose(float(point.q_star), q_star, rtol=1e-10)
  np.testing.assert_allclose(float(theory.length_map_slope(name, sigma_w2, sigma_b2)), slope, rtol=1e-7)
  assert slope < 1  # stable: the map from q = 1 converges to it
  q = np.asarray(theory.qmap(name, sigma_w2, sigma_b2, 1.0, 120))
  np.testing.assert_allclose(q[-1], q_star, rtol=1e-10)


@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_bias_free_gelu_family_at_he_decays_to_zero(name):
  # slope sigma_w2 / 4 = 1/2 at q = 0 (phi'(0) = 1/2): q -> 0 and chi1 -> sigma_w2 phi'(0)^2
  point = theory.fixed_point(name, 2.0, 0.0)
  assert float(point.q_star) < 1e-12
  np.testing.assert_allclose(float(theory.chi1(name, 2.0, 0.0)), 0.5, rtol=1e-9)
  np.testing.assert_allclose(float(theory.length_map_slope(name, 2.0, 0.0)), 0.5, rtol=1e-9)


def test_overflowing_length_map_is_inf_not_nan():
  q = np.asarray(theory.qmap("gelu", 4.0, 0.0, 1.0, 2000))
  assert not np.any(np.isnan(q))
  first_inf = int(np.argmax(np.isinf(q)))
  assert first_inf > 0 and np.all(np.isinf(q[first_inf:])) and np.all(np.isfinite(q[:first_inf]))
  # the finite part still follows the map: q grows by ~2 per layer far out (sigma_w2 / 2)
  np.testing.assert_allclose(q[first_inf - 1] / q[first_inf - 2], 2.0, rtol=1e-9)


@pytest.mark.slow
def test_downstream_of_an_infinite_q_is_finite_or_inf():
  # q* = inf for GELU at sigma_w2 = 1e6: every slope is its limit E[phi'^2] -> 1/2
  np.testing.assert_allclose(float(theory.chi1("gelu", 1e6, 0.0)), 5e5, rtol=1e-12)
  spectrum = theory.jacobian_spectrum_variance("gelu", 1e6, 0.0, 3)
  # mu1 = mu2 = 1/2: variance = L (mu2 / mu1^2 - 1 + 1) = 2 L for Gaussian weights
  np.testing.assert_allclose(np.asarray(spectrum.variance), 6.0, rtol=1e-12)
  np.testing.assert_allclose(np.asarray(spectrum.mean), 5e5**3, rtol=1e-12)
  g = np.asarray(theory.grad_map("gelu", 1e6, 0.0, 1.0, 10_000))
  assert not np.any(np.isnan(g)) and g[-1] == 1.0 and np.isinf(g[0])
  point = theory.fixed_point("selu", 1e6, 0.0)
  assert np.isinf(float(point.q_star)) and float(point.c_star) == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_bias_free_gelu_family_has_no_edge_of_chaos_reached_from_one(name):
  # chi1 = 1 at q = 0 needs sigma_w2 = 1 / phi'(0)^2 = 4, but there (scipy) the length map
  # from q = 1 grows, so the network never sees q = 0: the edge is not reachable
  step = length_map(name, 4.0, 0.0)
  assert step(1.0) > 1.0 and step(1e4) > 1e4
  edge = theory.edge_of_chaos(name, 0.0)
  assert np.isnan(float(edge.sigma_w2)) and np.isnan(float(edge.q_star))
  # with tanh the edge's q* is the fixed point the map reaches, so it stands
  edge = theory.edge_of_chaos("tanh", 0.05)
  np.testing.assert_allclose(float(theory.fixed_point("tanh", edge.sigma_w2, 0.05).q_star),
                             float(edge.q_star), rtol=1e-8)
