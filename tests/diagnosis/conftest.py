"""Small Flax models shared by the diagnosis tests (fixtures, so each model structure compiles once)."""

import math
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn
from flax import nnx

import jaxinit

TRUNCATED_STD = 0.8796256610342398  # std of N(0, 1) truncated to (-2, 2)


def _rng(key):
  return np.random.default_rng(np.asarray(jax.random.key_data(key)).astype(np.uint64).tolist())


def np_scaled(scale: float):
  """Variance ``scale / fan_in`` with flax's default layout (fan_in = all axes but the last), truncated at 2 std.

  Drawn with numpy: an independent reference, and no XLA compilation per kernel shape at model build.
  """
  def init(key, shape, dtype=jnp.float32):
    n, fan_in = math.prod(shape), math.prod(shape[:-1])
    z = _rng(key).standard_normal(2 * n + 64)
    z = z[np.abs(z) < 2][:n] / TRUNCATED_STD
    return jnp.asarray((z * math.sqrt(scale / fan_in)).reshape(shape), dtype)
  return init


def np_normal(std: float):
  def init(key, shape, dtype=jnp.float32):
    return jnp.asarray(_rng(key).standard_normal(shape) * std, dtype)
  return init


HE, LECUN = np_scaled(2.0), np_scaled(1.0)


def mlp(depth: int, width: int, kernel_init, activation=nnx.relu, bias_init=nnx.initializers.zeros, seed=0,
        d_in: int = 16, d_out: int = 4):
  rngs = nnx.Rngs(seed)
  layers, fan_in = [], d_in
  for _ in range(depth):
    layers += [nnx.Linear(fan_in, width, kernel_init=kernel_init, bias_init=bias_init, rngs=rngs), activation]
    fan_in = width
  layers.append(nnx.Linear(fan_in, d_out, kernel_init=kernel_init, rngs=rngs))
  return nnx.Sequential(*layers)


class LinenMLP(nn.Module):
  widths: tuple = (32, 32, 4)

  @nn.compact
  def __call__(self, x):
    for i, width in enumerate(self.widths):
      x = nn.Dense(width, kernel_init=jaxinit.he_normal())(x)
      if i < len(self.widths) - 1:
        x = nn.relu(x)
    return x


class CNN(nnx.Module):
  def __init__(self, rngs):
    he = HE
    self.conv1 = nnx.Conv(3, 8, (3, 3), kernel_init=he, rngs=rngs)
    self.conv2 = nnx.Conv(8, 16, (3, 3), strides=2, kernel_init=he, rngs=rngs)
    self.up = nnx.ConvTranspose(16, 8, (2, 2), strides=2, kernel_init=he, rngs=rngs)
    self.head = nnx.Linear(8, 10, rngs=rngs)

  def __call__(self, x):
    x = nnx.relu(self.conv1(x))
    x = nnx.relu(self.conv2(x))
    x = nnx.relu(self.up(x))
    return self.head(x.mean(axis=(1, 2)))


class GemmaAttention(nnx.Module):
  """The attention of flax's Gemma example: one Einsum makes q, k and v."""

  def __init__(self, rngs, features=64, heads=4, head_dim=16, kernel_init=LECUN, out_init=LECUN):
    self.qkv_einsum = nnx.Einsum("BTD,SNDH->SBTNH", (3, heads, features, head_dim), kernel_init=kernel_init,
                                 rngs=rngs)
    self.attn_vec_einsum = nnx.Einsum("BTNH,NHD->BTD", (heads, head_dim, features), kernel_init=out_init,
                                      rngs=rngs)

  def __call__(self, x):
    q, k, v = self.qkv_einsum(x)
    logits = jnp.einsum("BTNH,BSNH->BNTS", q, k) / jnp.sqrt(jnp.float32(q.shape[-1]))
    return self.attn_vec_einsum(jnp.einsum("BNTS,BSNH->BTNH", jax.nn.softmax(logits, axis=-1), v))


class Block(nnx.Module):
  def __init__(self, d, rngs, scale=1.0):
    self.norm = nnx.LayerNorm(d, rngs=rngs)
    self.fc1 = nnx.Linear(d, 2 * d, kernel_init=HE, rngs=rngs)
    self.fc2 = nnx.Linear(2 * d, d, kernel_init=HE, rngs=rngs)
    self.scale = nnx.Variable(jnp.float32(scale))  # an array, so scaled and unscaled stacks share a compilation

  def __call__(self, x):
    return x + self.scale[...] * self.fc2(nnx.relu(self.fc1(self.norm(x))))


class ResidualStack(nnx.Module):
  def __init__(self, d, n, rngs, scale=1.0):
    self.blocks = nnx.List([Block(d, rngs, scale) for _ in range(n)])
    self.head = nnx.Linear(d, 4, rngs=rngs)

  def __call__(self, x):
    for block in self.blocks:
      x = block(x)
    return self.head(x)


class TransformerBlock(nnx.Module):
  """Embedding, pre-norm attention and MLP with residuals, and an output layer; returns (logits, aux)."""

  def __init__(self, rngs, d=32, vocab=50):
    self.embed = nnx.Embed(vocab, d, embedding_init=np_normal(d ** -0.5), rngs=rngs)
    self.ln1 = nnx.LayerNorm(d, rngs=rngs)
    self.attn = nnx.MultiHeadAttention(num_heads=4, in_features=d, decode=False, kernel_init=LECUN, rngs=rngs)
    self.ln2 = nnx.LayerNorm(d, rngs=rngs)
    self.fc1 = nnx.Linear(d, 2 * d, kernel_init=LECUN, rngs=rngs)
    self.fc2 = nnx.Linear(2 * d, d, kernel_init=LECUN, rngs=rngs)
    self.out = nnx.Linear(d, vocab, kernel_init=LECUN, rngs=rngs)

  def __call__(self, tokens, mask=None):
    x = self.embed(tokens)
    x = x + self.attn(self.ln1(x), mask=mask)
    x = x + self.fc2(nnx.gelu(self.fc1(self.ln2(x))))
    return self.out(x), {"residual": x}


@pytest.fixture(scope="session")
def batch():
  return jax.random.normal(jax.random.key(0), (64, 16))


@pytest.fixture(scope="session")
def tokens():
  return jax.random.randint(jax.random.key(1), (4, 8), 0, 50)


@pytest.fixture(scope="session")
def models():
  """The model builders above, for tests (conftest modules are not importable under importlib mode)."""
  return types.SimpleNamespace(he=HE, lecun=LECUN, np_normal=np_normal, mlp=mlp, LinenMLP=LinenMLP, CNN=CNN, GemmaAttention=GemmaAttention,
                               ResidualStack=ResidualStack, TransformerBlock=TransformerBlock)
