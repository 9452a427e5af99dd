"""The overflow-safe statistics against float64 numpy, where float32 squares overflow or underflow."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxinit.sweep import _stats


@pytest.mark.parametrize("scale", [1e-30, 1.0, 3e30])
def test_log_second_moment_matches_float64(scale):
  x = np.asarray(jax.random.normal(jax.random.key(0), (3, 50)), np.float64) * scale
  got = np.asarray(jax.jit(lambda v: _stats.log_second_moment(v, axes=-1))(jnp.asarray(x, jnp.float32)))
  want = np.log(np.mean(np.square(x), axis=-1))  # float64: (3e30)^2 is fine there, not in float32
  np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max() + 1e-6)
  assert np.all(np.isfinite(got))


def test_log_second_moment_of_zeros_is_minus_infinity():
  assert np.isneginf(float(_stats.log_second_moment(jnp.zeros(5, jnp.float32))))


def test_next_exponent_brings_the_carry_back_to_unit_size():
  squares = jnp.asarray([4.0 ** 10, 1.0, 4.0 ** -7, 0.0, jnp.inf, 4.0 ** 40], jnp.float32) * 16
  exponent = jnp.asarray([3.0, 0.0, -2.0, 5.0, 1.0, 90.0], jnp.float32)
  got = np.asarray(_stats.next_exponent(exponent, squares, 16, limit=100.0))
  # mean square 4^k -> a step of k; zero or non-finite -> no step; clipped to +-100
  np.testing.assert_array_equal(got, [13.0, 0.0, -9.0, 5.0, 1.0, 100.0])
  assert np.asarray(_stats.next_exponent(exponent, squares, 16, limit=None))[-1] == 130.0


def _reference_stats(log_x: float, y: np.ndarray, bias: np.ndarray):
  """log mean h^2, mean paired cosine and mean spread of h = e^log_x y + b, in float64."""
  h = math.exp(log_x) * y + bias
  row_sq = np.sum(h * h, axis=-1)
  log_q = math.log(row_sq.sum()) - math.log(h.size)
  pairs = np.sum(h[0::2] * h[1::2], axis=-1) / np.sqrt(row_sq[0::2] * row_sq[1::2])
  spread = np.mean((row_sq - np.sum(h, axis=-1) ** 2 / h.shape[-1]) / row_sq)
  return log_q, pairs.mean(), spread


@jax.jit
def _signal_stats(log_x, y, bias):
  squares, dot_bias, total = _stats.row_sums(y, bias)
  pairs = jnp.einsum("bn,bn->b", y[0::2], y[1::2])
  return _stats.signal_stats(log_x, squares, dot_bias, total, pairs, jnp.sum(bias * bias), jnp.sum(bias),
                             y.shape[-1])


@pytest.mark.parametrize("log_x", [0.0, -60.0, 60.0])
def test_signal_stats_match_float64(log_x):
  # log_x = 60: X^2 y^2 ~ e^120 overflows float32 (3e38 ~ e^88); -60: it underflows to 0
  y = np.asarray(jax.random.normal(jax.random.key(1), (6, 40)), np.float64)
  bias = 0.3 * np.asarray(jax.random.normal(jax.random.key(2), (40,)), np.float64)
  y32, b32 = jnp.asarray(y, jnp.float32), jnp.asarray(bias, jnp.float32)
  got = [float(v) for v in _signal_stats(jnp.float32(log_x), y32, b32)]
  y, bias = np.asarray(y32, np.float64), np.asarray(b32, np.float64)  # the same float32 inputs
  want = _reference_stats(log_x, y, bias)
  assert got[0] == pytest.approx(want[0], rel=1e-6, abs=1e-4)
  assert got[1] == pytest.approx(want[1], abs=1e-5)
  assert got[2] == pytest.approx(want[2], abs=1e-5)


def test_signal_stats_of_a_nan_signal_are_nan_and_of_a_zero_signal_collapsed():
  y = jnp.zeros((4, 8), jnp.float32)
  zero = [float(v) for v in _signal_stats(jnp.float32(0.0), y, jnp.zeros(8, jnp.float32))]
  assert zero[0] == -math.inf and zero[1] == 1.0 and zero[2] == 0.0
  y_nan = y.at[:, 0].set(jnp.nan)
  nan = [float(v) for v in _signal_stats(jnp.float32(0.0), y_nan, jnp.zeros(8, jnp.float32))]
  assert all(math.isnan(v) for v in nan), nan  # never a cosine of 1 or a spread of 0 for a nan network
