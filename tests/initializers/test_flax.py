"""jaxinit initializers as Flax kernel_init: linen and nnx, dense and conv, and sharded on a CPU mesh."""

import os
import subprocess
import sys
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import pytest
from flax import linen as nn
from flax import nnx

import jaxinit

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.mark.parametrize("make,std", [
    (lambda: jaxinit.he_normal(), lambda fan_in: (2 / fan_in) ** 0.5),
    (lambda: jaxinit.torch_default_kernel(), lambda fan_in: (1 / (3 * fan_in)) ** 0.5),
    (lambda: jaxinit.for_activation("tanh"), lambda fan_in: jaxinit.gain("tanh") / fan_in ** 0.5),
])
@pytest.mark.slow
def test_linen_and_nnx_dense_and_conv(make, std):
  key = jax.random.key(0)
  dense = nn.Dense(256, kernel_init=make())
  params = dense.init(key, jnp.ones((1, 512)))["params"]
  chex.assert_shape(params["kernel"], (512, 256))
  assert float(params["kernel"].std()) == pytest.approx(std(512), rel=0.03)

  conv = nn.Conv(64, (3, 3), kernel_init=make(), dtype=jnp.bfloat16, param_dtype=jnp.bfloat16)
  params = conv.init(key, jnp.ones((1, 8, 8, 32), jnp.bfloat16))["params"]
  chex.assert_shape(params["kernel"], (3, 3, 32, 64))
  assert params["kernel"].dtype == jnp.bfloat16
  assert float(params["kernel"].astype(jnp.float32).std()) == pytest.approx(std(288), rel=0.04)

  linear = nnx.Linear(512, 256, kernel_init=make(), rngs=nnx.Rngs(0))
  assert float(linear.kernel[...].std()) == pytest.approx(std(512), rel=0.03)
  nconv = nnx.Conv(32, 64, (3, 3), kernel_init=make(), rngs=nnx.Rngs(0))
  chex.assert_shape(nconv.kernel[...], (3, 3, 32, 64))
  assert float(nconv.kernel[...].std()) == pytest.approx(std(288), rel=0.04)


@pytest.mark.slow
def test_structured_schemes_in_flax():
  conv = nnx.Conv(16, 16, (3, 3), padding="SAME", kernel_init=jaxinit.dirac(), use_bias=False,
                  rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(1), (2, 9, 9, 16))
  chex.assert_trees_all_close(conv(x), x, atol=1e-6)
  lin = nnx.Linear(16, 16, kernel_init=jaxinit.identity(), use_bias=False, rngs=nnx.Rngs(0))
  chex.assert_trees_all_close(lin(x), x, atol=1e-6)
  bias_init = jaxinit.torch_default_bias(fan_in=16)
  torch_like = nnx.Linear(16, 8, kernel_init=jaxinit.torch_default_kernel(), bias_init=bias_init,
                          rngs=nnx.Rngs(0))
  assert float(jnp.abs(torch_like.bias[...]).max()) <= 0.25


@pytest.mark.slow
def test_partitioning_on_a_four_device_cpu_mesh():
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, str(SCRIPTS / "sharded_init.py")], env=env, capture_output=True,
                        text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "sharded checks passed: 8" in proc.stdout
