"""Tests of jaxinit.theory against closed forms, published numbers and independent checks.

Reference values not derivable in closed form were computed independently with
scipy (adaptive quad + brentq for the tanh edge; 200-node Gauss-Hermite on a 2-D grid
for the chaotic tanh fixed point).
"""

import math
import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special

import jaxinit.theory as theory
from jaxinit.core._activations import SELU_ALPHA, SELU_LAMBDA, gauss_rule
from jaxinit.theory import _maps

# Critical sigma_w^2 of tanh against sigma_b^2, as published to 3 decimals (Schoenholz, Gilmer,
# Ganguli & Sohl-Dickstein, Deep Information Propagation, 2017, read off their phase diagram).
TANH_EDGE_TABLE = {0.0: 1.000, 0.01: 1.424, 0.05: 1.761, 0.1: 1.986, 0.3: 2.505, 0.5: 2.843,
                   1.0: 3.443, 2.0: 4.261}
# scipy (quad to 1e-13, brentq): the table's 4.261 at sigma_b^2 = 2 is 4.26640 in float64.
TANH_EDGE_SCIPY = {1.0: 3.4432109122654393, 2.0: 4.266396106127086}
# 200 x 200 Gauss-Hermite with brentq: tanh at sigma_w^2 = 4, sigma_b^2 = 0.05.
TANH_CHAOTIC_Q, TANH_CHAOTIC_C = 2.1954939280927457, 0.1650649619972809


def erf_callable(x):
  return jax.scipy.special.erf(x)


def relu_callable(x):
  return jnp.maximum(x, 0.0)


def as_np(x):
  return np.asarray(x, dtype=np.float64)


# ---------------------------------------------------------------------- edge of chaos

def test_tanh_edge_of_chaos_table():
  biases = np.array(list(TANH_EDGE_TABLE))
  edge = theory.edge_of_chaos("tanh", biases)
  chex.assert_shape(edge.sigma_w2, (8,))
  got = dict(zip(biases.tolist(), as_np(edge.sigma_w2).tolist(), strict=True))
  for sigma_b2, expected in TANH_EDGE_TABLE.items():
    if sigma_b2 == 2.0:
      continue  # see TANH_EDGE_SCIPY: the table entry is off by 0.005
    assert round(got[sigma_b2], 3) == expected, (sigma_b2, got[sigma_b2])
  for sigma_b2, expected in TANH_EDGE_SCIPY.items():
    np.testing.assert_allclose(got[sigma_b2], expected, rtol=1e-10)
  assert abs(got[2.0] - TANH_EDGE_TABLE[2.0]) < 6e-3
  q_star = dict(zip(biases.tolist(), as_np(edge.q_star).tolist(), strict=True))
  assert round(q_star[0.05], 3) == 0.570
  assert q_star[0.0] == 0.0


@pytest.mark.slow
def test_edge_is_where_chi1_is_one_and_q_star_is_the_fixed_point():
  biases = jnp.array([0.05, 0.5, 2.0])
  edge = theory.edge_of_chaos("tanh", biases)
  chex.assert_trees_all_close(theory.chi1("tanh", edge.sigma_w2, biases), jnp.ones(3), atol=1e-10)
  point = theory.fixed_point("tanh", edge.sigma_w2, biases)
  chex.assert_trees_all_close(point.q_star, edge.q_star, rtol=1e-8)


@pytest.mark.parametrize("slope", [0.0, 0.1, 0.5, -0.3])
def test_leaky_relu_critical_sigma_w2(slope):
  edge = theory.edge_of_chaos("leaky_relu", 0.1, param=slope)
  np.testing.assert_allclose(as_np(edge.sigma_w2), 2.0 / (1.0 + slope**2), rtol=1e-15)
  assert np.isinf(as_np(edge.q_star))  # the q-map grows by sigma_b2 per layer
  np.testing.assert_allclose(as_np(theory.chi1("leaky_relu", edge.sigma_w2, 0.1, param=slope)), 1.0)


# ------------------------------------------------------------------------------ q-map

def test_relu_qmap_is_exactly_linear():
  sigma_w2, sigma_b2, q0, depth = 1.7, 0.3, 2.5, 20
  expected = [q0]
  for _ in range(depth):
    expected.append(sigma_w2 * expected[-1] / 2 + sigma_b2)
  q = theory.qmap("relu", sigma_w2, sigma_b2, q0, depth)
  chex.assert_shape(q, (depth + 1,))
  assert q.dtype == jnp.float64
  chex.assert_trees_all_close(q, np.array(expected), rtol=1e-14)
  # a callable ReLU goes through the split quadrature instead of the closed form
  q_quad = theory.qmap(relu_callable, sigma_w2, sigma_b2, q0, depth)
  chex.assert_trees_all_close(q_quad, np.array(expected), rtol=1e-13)


@pytest.mark.slow
def test_selu_self_normalising_fixed_point():
  z, w = gauss_rule()
  selu = SELU_LAMBDA * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0.0)))
  assert abs(np.dot(w, selu)) < 1e-12
  assert abs(np.dot(w, selu**2) - 1.0) < 1e-12
  q = theory.qmap("selu", 1.0, 0.0, 1.0, 10)
  chex.assert_trees_all_close(q, np.ones(11), atol=1e-12)
  np.testing.assert_allclose(as_np(theory.fixed_point("selu", 1.0, 0.0).q_star), 1.0, atol=1e-12)


# ------------------------------------------------------------------------------ c-map

def test_relu_cmap_arc_cosine_closed_form():
  c0, depth = 0.3, 60
  expected = [c0]
  for _ in range(depth):
    c = expected[-1]
    expected.append((math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi)
  c = theory.cmap("relu", 2.0, 0.0, 1.0, c0, depth)
  chex.assert_shape(c, (depth + 1,))
  chex.assert_trees_all_close(c, np.array(expected), atol=1e-14)


def test_relu_correlation_approaches_one_as_inverse_square_depth():
  depth = 10_000
  gap = 1.0 - as_np(theory.cmap("relu", 2.0, 0.0, 1.0, 0.0, depth))
  layers = np.array([100, 1000, 10_000])
  ratio = gap[layers] / (9 * math.pi**2 / (2 * layers.astype(float) ** 2))
  assert np.all(np.diff(ratio) > 0)  # the log(l)/l correction fades
  np.testing.assert_allclose(ratio[-1], 1.0, atol=0.01)


@pytest.mark.slow
def test_erf_closed_forms_match_quadrature_through_a_callable():
  args = dict(sigma_w2=3.0, sigma_b2=0.3)
  chex.assert_trees_all_close(theory.cmap("erf", q0=1.3, c0=-0.4, depth=30, **args),
                              theory.cmap(erf_callable, q0=1.3, c0=-0.4, depth=30, **args),
                              atol=1e-12)
  chex.assert_trees_all_close(theory.fixed_point("erf", **args),
                              theory.fixed_point(erf_callable, **args), rtol=1e-10)
  chex.assert_trees_all_close(theory.depth_scales("erf", **args),
                              theory.depth_scales(erf_callable, **args), rtol=1e-9)
  chex.assert_trees_all_close(theory.edge_of_chaos("erf", 0.1),
                              theory.edge_of_chaos(erf_callable, 0.1), rtol=1e-10)


def test_ntk_matches_arc_cosine_recursion():
  sigma_w2, sigma_b2, q0, c0, depth = 2.0, 0.1, 1.0, 0.2, 8
  q, c, diagonal, off_diagonal = q0, c0, [q0], [q0 * c0]
  for _ in range(depth):
    theta = math.acos(c)
    q_next = sigma_w2 * q / 2 + sigma_b2
    q_ab = sigma_w2 * q * (math.sin(theta) + (math.pi - theta) * c) / (2 * math.pi) + sigma_b2
    diagonal.append(q_next + sigma_w2 * diagonal[-1] / 2)
    off_diagonal.append(q_ab + sigma_w2 * off_diagonal[-1] * (math.pi - theta) / (2 * math.pi))
    q, c = q_next, q_ab / q_next
  kernel = theory.ntk("relu", sigma_w2, sigma_b2, q0, c0, depth)
  chex.assert_trees_all_close(kernel, theory.NeuralTangentKernel(np.array(diagonal),
                                                                 np.array(off_diagonal)), rtol=1e-13)


# ----------------------------------------------------------------------- fixed points

@pytest.mark.slow
def test_tanh_ordered_and_chaotic_phases():
  ordered = theory.fixed_point("tanh", 1.0, 0.05)
  assert float(ordered.c_star) == 1.0
  assert float(theory.chi1("tanh", 1.0, 0.05)) < 1.0
  chaotic = theory.fixed_point("tanh", 4.0, 0.05)
  assert float(theory.chi1("tanh", 4.0, 0.05)) > 1.0
  chex.assert_trees_all_close(chaotic, theory.FixedPoint(TANH_CHAOTIC_Q, TANH_CHAOTIC_C),
                              rtol=1e-9)


def test_kinked_activation_at_zero_q_uses_both_one_sided_slopes():
  # sigma_b2 = 0 puts the edge at q* = 0, where E[phi'^2] -> (phi'(0-)^2 + phi'(0+)^2) / 2
  edge = theory.edge_of_chaos("selu", 0.0)
  expected = 2 / (SELU_LAMBDA**2 * (1 + SELU_ALPHA**2))
  chex.assert_trees_all_close(edge, theory.EdgeOfChaos(expected, 0.0), rtol=1e-13)


def test_rounding_at_the_edge_counts_as_ordered():
  # tanh without bias at sigma_w2 = 1: q* -> 0 and chi1 = 1 up to rounding
  assert float(theory.fixed_point("tanh", 1.0, 0.0).c_star) == 1.0
  assert np.isinf(as_np(theory.depth_scales("tanh", 1.0, 0.0).xi_c))


def test_depth_scales_are_the_observed_convergence_rates():
  # ordered: q and c relax geometrically at exp(-1/xi)
  q_star = float(theory.fixed_point("tanh", 1.0, 0.05).q_star)
  scales = theory.depth_scales("tanh", 1.0, 0.05)
  q = as_np(theory.qmap("tanh", 1.0, 0.05, 1.0, 30))
  observed = (q[29] - q_star) / (q[28] - q_star)  # late enough for the linearisation
  np.testing.assert_allclose(observed, math.exp(-1 / float(scales.xi_q)), rtol=1e-6)
  np.testing.assert_allclose(as_np(scales.xi_c),
                             -1 / math.log(float(theory.chi1("tanh", 1.0, 0.05))), rtol=1e-14)
  # chaotic: c relaxes to c* < 1 at exp(-1/xi_c), started at q = q*
  scales = theory.depth_scales("tanh", 4.0, 0.05)
  c = as_np(theory.cmap("tanh", 4.0, 0.05, TANH_CHAOTIC_Q, 0.9, 100))
  observed = (c[100] - TANH_CHAOTIC_C) / (c[99] - TANH_CHAOTIC_C)
  np.testing.assert_allclose(observed, math.exp(-1 / float(scales.xi_c)), rtol=1e-4)


def test_relu_depth_scales():
  scales = theory.depth_scales("relu", 1.0, 0.1)
  chex.assert_trees_all_close(scales, theory.DepthScales(1 / math.log(2), 1 / math.log(2)))
  assert np.isinf(as_np(theory.depth_scales("relu", 2.0, 0.1).xi_c))  # edge of chaos


# ------------------------------------------------------------------- gradients, spectra

def test_grad_map_relu_width_profile():
  widths = [64, 128, 128, 32, 64]
  g = theory.grad_map("relu", 2.0, 0.1, 1.0, 4, widths=widths)
  # per layer chi1 = 1 exactly, so only N_{l+1} / N_l remains
  expected = [widths[-1] / n for n in widths]
  chex.assert_trees_all_close(g, np.array(expected), rtol=1e-14)


def test_grad_map_tanh_is_product_of_chi_along_trajectory():
  sigma_w2, sigma_b2, q0, depth = 1.5, 0.05, 2.0, 6
  q = as_np(theory.qmap("tanh", sigma_w2, sigma_b2, q0, depth))
  z, w = gauss_rule()
  chi = [sigma_w2 * np.dot(w, np.cosh(np.sqrt(qk) * z) ** -4) for qk in q[:-1]]
  expected = np.append(np.cumprod(chi[::-1])[::-1], 1.0)
  g = theory.grad_map("tanh", sigma_w2, sigma_b2, q0, depth)
  chex.assert_shape(g, (depth + 1,))
  chex.assert_trees_all_close(g, expected, rtol=1e-12)


@pytest.mark.parametrize("activation, sigma_w2, orthogonal, per_layer", [
    ("identity", 1.0, False, 1.0),
    ("relu", 2.0, False, 2.0),
    ("relu", 2.0, True, 1.0),
    ("linear", 1.0, True, 0.0),
])
def test_jacobian_spectrum_variance(activation, sigma_w2, orthogonal, per_layer):
  spectrum = theory.jacobian_spectrum_variance(activation, sigma_w2, 0.0, 10, orthogonal=orthogonal)
  np.testing.assert_allclose(as_np(spectrum.variance), 10 * per_layer, atol=1e-13)
  np.testing.assert_allclose(as_np(spectrum.mean), 1.0)


@pytest.mark.slow
def test_jacobian_spectrum_tanh_orthogonal_small_q_is_isometric():
  biases = np.array([1e-1, 1e-3, 1e-6])
  edge = theory.edge_of_chaos("tanh", biases)
  spectrum = theory.jacobian_spectrum_variance("tanh", edge.sigma_w2, biases, 100, orthogonal=True)
  chex.assert_trees_all_close(spectrum.mean, np.ones(3), rtol=1e-8)
  per_layer = as_np(spectrum.variance) / 100
  assert np.all(np.diff(per_layer) < 0) and per_layer[-1] < 1e-3  # -> 0 as q* -> 0
  gaussian = theory.jacobian_spectrum_variance("tanh", edge.sigma_w2, biases, 100)
  chex.assert_trees_all_close(as_np(gaussian.variance), as_np(spectrum.variance) + 100)


# ---------------------------------------------------------------------- finite width

def test_relu_log_norm_moments_asymptotic():
  widths = [100, 200, 50]
  beta = 1 / 100 + 1 / 200 + 1 / 50
  moments = theory.relu_log_norm_moments(widths)
  chex.assert_trees_all_close(moments, theory.LogNormMoments(-2.5 * beta, 5 * beta), rtol=1e-15)


def test_relu_log_norm_moments_exact():
  # N = 1: K = 1 given K > 0, so R = 2 chi2_1: E log R = -euler_gamma, Var = pi^2 / 2
  chex.assert_trees_all_close(theory.relu_log_norm_moments([1, 1], exact=True),
                              theory.LogNormMoments(-2 * np.euler_gamma, np.pi**2), rtol=1e-12)
  # N = 6, summed by hand with scipy
  n, k = 6, np.arange(1, 7)
  pmf = scipy.special.comb(n, k) / (2.0**n - 1)
  log_mean = scipy.special.digamma(k / 2) + np.log(2)
  mean = np.dot(pmf, log_mean) + np.log(2 / n)
  var = np.dot(pmf, scipy.special.polygamma(1, k / 2) + (log_mean + np.log(2 / n) - mean) ** 2)
  chex.assert_trees_all_close(theory.relu_log_norm_moments([n], exact=True),
                              theory.LogNormMoments(mean, var), rtol=1e-12)
  # wide layers approach the asymptotics
  exact = theory.relu_log_norm_moments([2000] * 3, exact=True)
  chex.assert_trees_all_close(exact, theory.relu_log_norm_moments([2000] * 3), rtol=2e-3)


# --------------------------------------------------------------- jax transformations

@pytest.mark.slow
def test_vmap_over_sigma_w2_grid_equals_loop():
  grid = jnp.array([0.5, 1.0, 4.0])  # both phases
  batched = jax.vmap(lambda s: theory.fixed_point("tanh", s, 0.05))(grid)
  looped = [theory.fixed_point("tanh", float(s), 0.05) for s in np.asarray(grid)]
  chex.assert_trees_all_close(batched, jax.tree.map(lambda *x: np.stack(x), *looped), rtol=1e-13)
  # array arguments broadcast directly
  chex.assert_trees_all_close(theory.chi1("tanh", np.asarray(grid), 0.05),
                              jax.vmap(lambda s: theory.chi1("tanh", s, 0.05))(grid))
  chex.assert_shape(theory.qmap("tanh", grid[:, None], jnp.array([0.0, 0.1]), 1.0, 3), (3, 2, 4))


def test_float64_inside_and_outside_user_jit_with_x64_off():
  assert not jax.config.jax_enable_x64
  eager = theory.chi1("tanh", 1.5, 0.05)
  assert eager.dtype == jnp.float64
  assert not jax.config.jax_enable_x64  # the local switch is undone
  jitted = jax.jit(lambda s: theory.chi1("tanh", s, 0.05))(jnp.float32(1.5))
  assert jitted.dtype == jnp.float64
  np.testing.assert_allclose(as_np(jitted), as_np(eager), rtol=1e-7)  # sigma_w2 came as float32


def _normalised_jaxpr(depth):
  jaxpr = jax.make_jaxpr(lambda s: theory.cmap("tanh", s, 0.05, 1.0, 0.5, depth))(1.0)
  return re.sub(r"\d+", "#", str(jaxpr))


def test_program_size_does_not_grow_with_depth():
  shallow, deep = _normalised_jaxpr(10), _normalised_jaxpr(1000)
  assert "scan" in deep
  assert shallow == deep


def test_repeated_calls_do_not_retrace():
  @jax.jit
  @chex.assert_max_traces(n=1)
  def length_map(sigma_w2):
    return theory.qmap("tanh", sigma_w2, 0.05, 1.0, 5)

  length_map(1.0)
  length_map(2.0)
  # eager calls with new values reuse the compiled core
  theory.qmap("tanh", 1.0, 0.05, 1.0, 5)
  cores = _maps._qmap_core._cache_size()
  theory.qmap("tanh", 3.0, 0.1, 2.0, 5)
  theory.qmap("tanh", np.float32(2.0), jnp.float32(0.2), 1, 5)
  assert _maps._qmap_core._cache_size() == cores


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call, match", [
    (lambda: theory.qmap("swish2", 1.0, 0.0, 1.0, 3), "activation='swish2'"),
    (lambda: theory.qmap("tanh", 1.0, 0.0, 1.0, -1), "depth=-1"),
    (lambda: theory.qmap("tanh", 1.0, 0.0, 1.0, 2.5), "depth=2.5"),
    (lambda: theory.qmap("tanh", -1.0, 0.0, 1.0, 3), "sigma_w2=-1.0"),
    (lambda: theory.qmap("tanh", 1.0, float("nan"), 1.0, 3), "sigma_b2=nan"),
    (lambda: theory.qmap("tanh", 1.0, 0.0, -2.0, 3), "q0=-2.0"),
    (lambda: theory.cmap("tanh", 1.0, 0.0, 1.0, 1.5, 3), "c0=1.5"),
    (lambda: theory.ntk("tanh", 1.0, 0.0, 1.0, -1.01, 3), "c0=-1.01"),
    (lambda: theory.fixed_point("relu", 1.0, 0.0, param=0.2), "takes no param"),
    (lambda: theory.chi1(erf_callable, 1.0, 0.0, param=0.2), "param=0.2"),
    (lambda: theory.edge_of_chaos("tanh", -0.1), "sigma_b2=-0.1"),
    (lambda: theory.grad_map("tanh", 1.0, 0.0, 1.0, 3, widths=[8, 8]), "widths="),
    (lambda: theory.jacobian_spectrum_variance("tanh", 1.0, 0.0, -3), "depth=-3"),
    (lambda: theory.relu_log_norm_moments([]), "widths="),
    (lambda: theory.relu_log_norm_moments([10, 0]), "widths="),
])
def test_bad_arguments_raise_naming_the_parameter(call, match):
  with pytest.raises(ValueError, match=re.escape(match)):
    call()
