"""What diagnosing a model costs: jaxinit.diagnose against one jitted value_and_grad of the same model, warm.

Builds a small decoder (embedding, pre-norm attention and GELU MLP blocks with residuals, output layer) and an
MLP in flax nnx, compiles both calls once, then times the best of several warm calls of each:
``jaxinit.diagnose(model, x)`` (the whole call: splitting the model, the cached plan, the jitted forward and
backward pass with per-layer statistics, the rows and warnings) and a jitted
``jax.value_and_grad(0.5 * sum(model(x) ** 2))`` over the parameters, blocked until ready. Target: <= 3x.

  python benchmarks/diagnose.py            # width 256, 4 blocks, batch 16 x 128 tokens; MLP 8 x 1024
  python benchmarks/diagnose.py --quick    # width 64, 2 blocks, batch 4 x 32 tokens; MLP 4 x 256
"""

import argparse
import time

import jax
import jax.numpy as jnp
from flax import nnx

import jaxinit


class Block(nnx.Module):
  def __init__(self, d: int, rngs: nnx.Rngs):
    self.ln1 = nnx.LayerNorm(d, rngs=rngs)
    self.attn = nnx.MultiHeadAttention(num_heads=4, in_features=d, decode=False, rngs=rngs)
    self.ln2 = nnx.LayerNorm(d, rngs=rngs)
    self.up = nnx.Linear(d, 4 * d, rngs=rngs)
    self.down = nnx.Linear(4 * d, d, rngs=rngs)

  def __call__(self, x):
    x = x + self.attn(self.ln1(x))
    return x + self.down(nnx.gelu(self.up(self.ln2(x))))


class Decoder(nnx.Module):
  def __init__(self, vocab: int, d: int, blocks: int, rngs: nnx.Rngs):
    self.embed = nnx.Embed(vocab, d, rngs=rngs)
    self.blocks = nnx.List([Block(d, rngs) for _ in range(blocks)])
    self.out = nnx.Linear(d, vocab, rngs=rngs)

  def __call__(self, tokens):
    x = self.embed(tokens)
    for block in self.blocks:
      x = block(x)
    return self.out(x)


def mlp(depth: int, width: int, rngs: nnx.Rngs):
  layers = []
  for _ in range(depth):
    layers += [nnx.Linear(width, width, kernel_init=jaxinit.he_normal(), rngs=rngs), nnx.relu]
  return nnx.Sequential(*layers, nnx.Linear(width, 10, rngs=rngs))


def best_of(fn, repeats: int) -> float:
  fn()  # compile / warm
  best = float("inf")
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - t0)
  return best


def compare(name: str, model, x, repeats: int) -> float:
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)

  @jax.jit
  def value_and_grad(params, x):
    return jax.value_and_grad(lambda p: 0.5 * jnp.sum(jnp.square(nnx.merge(graphdef, p, rest)(x))))(params)

  train = best_of(lambda: jax.block_until_ready(value_and_grad(params, x)), repeats)
  diagnosis = best_of(lambda: jaxinit.diagnose(model, x), repeats)
  layers = len(jaxinit.diagnose(model, x).rows)
  print(f"{name:<44} {layers:>6} {train * 1e3:>12.2f} {diagnosis * 1e3:>12.2f} {diagnosis / train:>7.2f}")
  return diagnosis / train


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="small models")
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args(argv)
  d, blocks, batch, length, depth, width = (64, 2, 4, 32, 4, 256) if args.quick else (256, 4, 16, 128, 8, 1024)
  tokens = jax.random.randint(jax.random.key(0), (batch, length), 0, 512)
  x = jax.random.normal(jax.random.key(1), (256, width))
  print(f"{'model':<44} {'layers':>6} {'v&g ms':>12} {'diagnose ms':>12} {'ratio':>7}")
  compare(f"decoder d={d}, {blocks} blocks, {batch}x{length} tokens", Decoder(512, d, blocks, nnx.Rngs(0)), tokens,
          args.repeats)
  compare(f"MLP {depth} x {width}, batch 256", mlp(depth, width, nnx.Rngs(0)), x, args.repeats)
  print("ratio = warm jaxinit.diagnose / warm jitted value_and_grad (target <= 3)")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
