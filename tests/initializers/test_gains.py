"""Gains: PyTorch's table exactly, and exact variance-preserving gains against independent quadrature."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special

import jaxinit

# PyTorch's documented table (torch.nn.init.calculate_gain)
TORCH = {
    "linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3,
    "relu": math.sqrt(2.0), "leaky_relu": math.sqrt(2.0 / (1 + 0.01 ** 2)), "selu": 0.75,
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_calculate_gain_matches_torch_table(name):
  assert jaxinit.calculate_gain(name) == TORCH[name]


def test_calculate_gain_leaky_param_and_case():
  assert jaxinit.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
  assert jaxinit.calculate_gain("leaky_relu", 1) == 1.0
  assert jaxinit.calculate_gain("relu", "ignored") == math.sqrt(2.0)  # torch ignores param here
  with pytest.raises(ValueError, match="nonlinearity='ReLU'"):
    jaxinit.calculate_gain("ReLU")


SELU_L, SELU_A = 1.0507009873554805, 1.6732632423543772
NUMPY_ACTS = {
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
    "gelu_exact": lambda x: 0.5 * x * (1 + special.erf(x / math.sqrt(2))),
    "silu": lambda x: x * special.expit(x),
    "softplus": lambda x: np.logaddexp(0, x),
    "tanh": np.tanh,
    "sigmoid": special.expit,
    "erf": special.erf,
    "mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
}


def scipy_second_moment(f):
  pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
  left = integrate.quad(lambda z: f(z) ** 2 * pdf(z), -np.inf, 0, epsabs=1e-14, epsrel=1e-13)[0]
  right = integrate.quad(lambda z: f(z) ** 2 * pdf(z), 0, np.inf, epsabs=1e-14, epsrel=1e-13)[0]
  return left + right


@pytest.mark.parametrize("name", sorted(NUMPY_ACTS))
def test_gain_against_independent_quadrature(name):
  expected = 1 / math.sqrt(scipy_second_moment(NUMPY_ACTS[name]))
  assert jaxinit.gain(name) == pytest.approx(expected, rel=1e-9)


def test_gain_closed_forms_and_callables():
  assert jaxinit.gain("relu") == math.sqrt(2.0)
  assert jaxinit.gain("identity") == 1.0
  assert jaxinit.gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04), abs=1e-15)
  assert abs(jaxinit.gain("selu") - 1.0) < 1e-9
  # a callable goes through quadrature and agrees with the closed form
  assert jaxinit.gain(jax.nn.relu) == pytest.approx(math.sqrt(2.0), rel=1e-10)
  assert jaxinit.gain(lambda x: jnp.where(x > 0, x, 0.2 * x)) == pytest.approx(math.sqrt(2 / 1.04), rel=1e-10)
  assert jaxinit.gain(jax.nn.gelu) == pytest.approx(jaxinit.gain("gelu"), rel=1e-12)


def test_for_activation_is_variance_scaling_with_gain_squared():
  key = jax.random.key(0)
  for act in ("relu", "tanh", "selu"):
    ours = jaxinit.for_activation(act, distribution="normal")(key, (64, 32))
    ref = jax.nn.initializers.variance_scaling(jaxinit.gain(act) ** 2, "fan_in", "normal")(key, (64, 32))
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(ref))
  he = jaxinit.for_activation("relu")(key, (64, 32))
  np.testing.assert_allclose(np.asarray(he), np.asarray(jaxinit.he_normal()(key, (64, 32))), rtol=1e-6)


def test_variance_preserved_through_a_layer():
  # unit-variance inputs through phi and a for_activation layer keep unit second moment
  key_x, key_w = jax.random.split(jax.random.key(1))
  x = jax.random.normal(key_x, (4096, 512))
  for act in ("tanh", "gelu", "silu"):
    fn = {"tanh": jnp.tanh, "gelu": jax.nn.gelu, "silu": jax.nn.silu}[act]
    w = jaxinit.for_activation(act, distribution="normal")(key_w, (512, 512))
    h = fn(x) @ w
    assert float(jnp.mean(h ** 2)) == pytest.approx(1.0, abs=0.03)
