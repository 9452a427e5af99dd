"""jaxinit.testing: the assertions pass on healthy initializers and models and fail with precise messages."""

import chex
import jax
import jax.numpy as jnp
import pytest
from flax import nnx

import jaxinit
from jaxinit import testing


def test_assert_initializer_passes_and_fails():
  testing.assert_initializer(jaxinit.he_normal(), (128, 64), scheme="he_normal", dtypes=(jnp.float32, jnp.bfloat16))
  testing.assert_initializer(jaxinit.normal(0.5), (64, 64), std=0.5, mean=0.0)
  # 5 standard errors of the std of 8192 truncated-normal entries (kurtosis 2.366): 5 sqrt(1.366 / 32768) = 3.2%
  with pytest.raises(AssertionError, match=r"dtype=float32, shape=\(128, 64\): sample std .* is 0\.7.*x the "
                                           r"expected 0\.125 \(he_normal\); tolerance \+-3\.2%"):
    testing.assert_initializer(jaxinit.lecun_normal(), (128, 64), scheme="he_normal")


def test_assert_initializer_shape_dtype_finite():
  def wrong_shape(key, shape, dtype=jnp.float32):
    return jnp.zeros((shape[0],), dtype)

  def wrong_dtype(key, shape, dtype=jnp.float32):
    return jnp.zeros(shape, jnp.float16)

  def non_finite(key, shape, dtype=jnp.float32):
    return jnp.full(shape, jnp.inf, dtype)

  with pytest.raises(AssertionError, match=r"got shape \(8,\)"):
    testing.assert_initializer(wrong_shape, (8, 4))
  with pytest.raises(AssertionError, match="got dtype float16"):
    testing.assert_initializer(wrong_dtype, (8, 4))
  with pytest.raises(AssertionError, match="32 entries are not finite"):
    testing.assert_initializer(non_finite, (8, 4))
  with pytest.raises(ValueError, match="not both"):
    testing.assert_initializer(jaxinit.he_normal(), (8, 4), std=1.0, scheme="he_normal")


def test_std_tolerance_is_the_standard_error():
  # a normal sample of n entries: the std's relative standard error is 1 / sqrt(2 n)
  sample = jax.random.normal(jax.random.key(0), (20000,))
  tol = testing.std_tolerance(jax.device_get(sample), 1.0)
  assert abs(tol / (1 / (2 * 20000) ** 0.5) - 1) < 0.05


class AssertInitializerVariants(chex.TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  def test_inside_variants(self):
    init = self.variant(lambda key: jaxinit.he_normal()(key, (64, 32)))
    init(jax.random.key(0))  # the variant compiles; the assertion itself runs on the host
    testing.assert_initializer(jaxinit.he_normal(), (64, 32), scheme="he_normal")


@pytest.mark.slow
def test_assert_variance_preserving():
  testing.assert_variance_preserving(jaxinit.he_normal(), "relu", depth=16, width=32, batch=8)
  with pytest.raises(AssertionError, match=r"activation='relu', depth=16, width=32: forward ratio .* and "
                                           r"gradient ratio .* must both lie in \[0\.25, 4\]"):
    testing.assert_variance_preserving(jaxinit.lecun_normal(), "relu", depth=16, width=32, batch=8)


def test_assert_healthy_init():
  x = jax.random.normal(jax.random.key(0), (32, 8))
  healthy = nnx.Sequential(nnx.Linear(8, 16, kernel_init=jaxinit.he_normal(), rngs=nnx.Rngs(0)), nnx.relu,
                           nnx.Linear(16, 2, rngs=nnx.Rngs(1)))
  testing.assert_healthy_init(healthy, x)
  broken = nnx.Sequential(nnx.Linear(8, 16, kernel_init=jaxinit.zeros, rngs=nnx.Rngs(0)), nnx.relu,
                          nnx.Linear(16, 2, rngs=nnx.Rngs(1)))
  with pytest.raises(AssertionError, match=r"1 warning\(s\) in 2 layers:\n  \[zero_variance\] layers/0: kernel "
                                           r"\(8, 16\) is all zeros"):
    testing.assert_healthy_init(broken, x)
  testing.assert_healthy_init(broken, x, ignore=("zero_variance",))
