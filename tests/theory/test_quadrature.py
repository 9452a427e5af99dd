"""Gaussian expectations at every scale of q, against scipy's adaptive quadrature.

E[phi(sqrt(q) z)^2] is read from one layer of ``qmap`` (sigma_w2 = 1, sigma_b2 = 0) and
E[phi'(sqrt(q) z)^2] from one layer of ``grad_map``; both must match ``scipy.integrate.quad``
to a relative 1e-10 for every named activation from q = 1e-8 to 1e8, or the call must
refuse with a clear error (oscillating callables).
"""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize, special

import jaxinit.theory as theory
from jaxinit.core._activations import ACTIVATION_NAMES, SELU_ALPHA, SELU_LAMBDA

QS = 10.0 ** np.arange(-8, 9, 2)  # 1e-8 .. 1e8
RTOL = 1e-10
_K = math.sqrt(2 / math.pi)


def _gelu(x):
  t = np.tanh(_K * (x + 0.044715 * x**3))
  return 0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _K * (1 + 3 * 0.044715 * x * x)


def _mish(x):
  softplus, sig = np.logaddexp(0, x), special.expit(x)
  t = np.tanh(softplus)
  return x * t, t + x * (1 - t * t) * sig


# (phi, phi') in numpy, written out by hand
NUMPY = {
    "identity": lambda x: (x, 1.0),
    "linear": lambda x: (x, 1.0),
    "relu": lambda x: (max(x, 0.0), float(x > 0)),
    "leaky_relu": lambda x: (x if x > 0 else 0.01 * x, 1.0 if x > 0 else 0.01),
    "elu": lambda x: (x, 1.0) if x > 0 else (math.expm1(x), math.exp(x)),
    "selu": lambda x: ((SELU_LAMBDA * x, SELU_LAMBDA) if x > 0
                       else (SELU_LAMBDA * SELU_ALPHA * math.expm1(x), SELU_LAMBDA * SELU_ALPHA * math.exp(x))),
    "gelu": _gelu,
    "gelu_exact": lambda x: (x * special.ndtr(x), special.ndtr(x) + x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
    "silu": lambda x: (x * special.expit(x), special.expit(x) * (1 + x * special.expit(-x))),
    "swish": lambda x: (x * special.expit(x), special.expit(x) * (1 + x * special.expit(-x))),
    "softplus": lambda x: (np.logaddexp(0, x), special.expit(x)),
    "tanh": lambda x: (math.tanh(x), 1 - math.tanh(x) ** 2),
    "sigmoid": lambda x: (special.expit(x), special.expit(x) * special.expit(-x)),
    "erf": lambda x: (math.erf(x), 2 / math.sqrt(math.pi) * math.exp(-x * x)),
    "mish": _mish,
}


def scipy_normal_mean(f, q):
  """E[f(u)], u ~ N(0, q), by adaptive quadrature on each half-line, split at both scales."""
  s = math.sqrt(q)
  density = lambda u: math.exp(-u * u / (2 * q)) / math.sqrt(2 * math.pi * q)  # noqa: E731
  points = sorted({p for p in (0.5 * s, s, 2 * s, 4 * s, 0.25, 1.0, 4.0, 16.0, 64.0) if p < 12 * s})
  total = 0.0
  for sign in (1.0, -1.0):
    total += integrate.quad(lambda u, sign=sign: f(sign * u) * density(u), 0.0, 40 * s, points=points,
                            limit=400, epsabs=0.0, epsrel=1e-13)[0]
  return total


def test_every_named_activation_has_a_scipy_reference():
  assert set(NUMPY) == set(ACTIVATION_NAMES)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_second_moments_across_scales_match_scipy(name):
  phi = NUMPY[name]
  expected_sq = [scipy_normal_mean(lambda u: phi(u)[0] ** 2, q) for q in QS]
  expected_slope = [scipy_normal_mean(lambda u: phi(u)[1] ** 2, q) for q in QS]
  got_sq = np.asarray(theory.qmap(name, 1.0, 0.0, QS, 1))[:, 1]
  got_slope = np.asarray(theory.grad_map(name, 1.0, 0.0, QS, 1))[:, 0]
  np.testing.assert_allclose(got_sq, expected_sq, rtol=RTOL)
  np.testing.assert_allclose(got_slope, expected_slope, rtol=RTOL)


@pytest.mark.slow
def test_sin_is_exact_where_resolved_and_refused_where_not():
  # E[sin^2(sqrt(q) z)] = (1 - exp(-2 q)) / 2
  q = [1.0]
  for _ in range(4):
    q.append((1 - math.exp(-2 * q[-1])) / 2)
  np.testing.assert_allclose(np.asarray(theory.qmap(jnp.sin, 1.0, 0.0, 1.0, 4)), q, rtol=1e-12)
  # at q = 1e6 sin(sqrt(q) z) turns 4000 times across the Gaussian: no fixed rule resolves it
  with pytest.raises(ValueError, match=re.escape("is not resolved by the Gaussian quadrature")):
    theory.qmap(jnp.sin, 1e6, 0.0, 1.0, 4)
  with pytest.raises(ValueError, match="is not resolved"):
    theory.fixed_point(jnp.sin, 1e4, 0.0)


def test_tanh_chi1_at_a_huge_weight_variance_matches_scipy():
  sigma_w2, sigma_b2 = 1e6, 0.05
  np_tanh = lambda u: math.tanh(u) ** 2  # noqa: E731
  q_star = optimize.brentq(lambda q: sigma_w2 * scipy_normal_mean(np_tanh, q) + sigma_b2 - q,
                           1e5, 1e6, xtol=1e-6, rtol=1e-14)
  expected = sigma_w2 * scipy_normal_mean(lambda u: (1 - math.tanh(u) ** 2) ** 2, q_star)
  np.testing.assert_allclose(float(theory.chi1("tanh", sigma_w2, sigma_b2)), expected, rtol=1e-9)


def test_tanh_depth_scales_at_large_q_are_a_number_or_a_clear_error():
  # q* = 9920 puts the chaotic correlation map beyond the 2-D rule's range: refused, not nan
  with pytest.raises(ValueError, match=re.escape("2-D quadrature is accurate for q <= 50")):
    theory.depth_scales("tanh", 1e4, 0.0)
  # the length map alone needs only 1-D expectations: xi_q from its slope, against scipy
  np_tanh = lambda u: math.tanh(u) ** 2  # noqa: E731
  q_star = optimize.brentq(lambda q: 1e4 * scipy_normal_mean(np_tanh, q) - q, 1e3, 1e4, rtol=1e-14)
  slope = 1e4 * (scipy_normal_mean(lambda u: (1 - math.tanh(u) ** 2) ** 2, q_star)
                 + scipy_normal_mean(lambda u: -2 * math.tanh(u) ** 2 * (1 - math.tanh(u) ** 2), q_star))
  np.testing.assert_allclose(float(theory.length_map_slope("tanh", 1e4, 0.0)), slope, rtol=1e-8)


def test_under_a_callers_jit_an_unresolved_result_is_nan_not_a_wrong_number():
  length_map = jax.jit(lambda sigma_w2: theory.qmap(jnp.sin, sigma_w2, 0.0, 1.0, 2))
  assert np.all(np.isnan(np.asarray(length_map(1e6))))
  q = [1.0, (1 - math.exp(-2)) / 2]
  q.append((1 - math.exp(-2 * q[-1])) / 2)
  np.testing.assert_allclose(np.asarray(length_map(1.0)), q, rtol=1e-12)
