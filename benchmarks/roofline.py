"""The dense engine against its own floor: drawing its random numbers plus doing its matmuls.

For one grid, in one process, this times (warm, best of --repeats):
  sweep   the jaxinit.sweep run (compiled once, then re-run);
  rng     a jitted scan that draws exactly the sweep's random numbers (one standard draw per
          distribution family per layer and seed, the biases) and nothing else;
  matmul  a jitted scan that does exactly the sweep's matmuls (forward and tangent, every
          distinct lane x activation: glorot_normal runs as lecun_normal on square layers) on fixed
          matrices and nothing else: the faster of the sweep's own layout (one product per
          activation and weight draw) and one batched einsum;
and prints sweep / (rng + matmul): the target is <= 1.3. Then, at width = 16 x batch with
Gaussian schemes, it prints how far the "gaussian" engine runs below that dense bound.

  python benchmarks/roofline.py            # width 512, depth 64, batch 128, 4 seeds
"""

import argparse
import math
import time

import jax
import jax.numpy as jnp

import jaxinit
from jaxinit.sweep import standard_draw


def best_of(fn, repeats):
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - t0)
  return min(times)


def sweep_time(schemes, acts, width, depth, batch, seeds, engine, repeats):
  kwargs = dict(schemes=schemes, activations=acts, depths=(depth,), widths=(width,), batch=batch, seeds=seeds,
                engine=engine, devices=jax.local_devices()[:1])
  jaxinit.sweep(**kwargs)  # compile (cached in-process from here on)
  marks = {}

  def progress(phase, w, i, n):
    marks[(phase, i)] = time.perf_counter()

  best = math.inf
  for _ in range(repeats):
    jaxinit.sweep(progress=progress, **kwargs)
    best = min(best, marks[("run", 1)] - marks[("run", 0)])
  return best


def rng_floor(families, width, depth, seeds, repeats):
  def one_seed(key):
    def layer(total, i):
      k = jax.random.fold_in(key, i)
      key_w, key_b = jax.random.split(k)
      for fam in families:
        total = total + jnp.sum(standard_draw(key_w, (width, width), fam))
      return total + jnp.sum(jax.random.normal(key_b, (width,))), None
    return jax.lax.scan(layer, jnp.float32(0), jnp.arange(depth))[0]
  keys = jax.random.split(jax.random.key(0), seeds)
  fn = jax.jit(jax.vmap(one_seed))
  fn(keys).block_until_ready()
  return best_of(lambda: fn(keys), repeats)


def matmul_floor(group_sizes, n_acts, width, depth, batch, seeds, repeats):
  """The faster of two ways to do the sweep's matmuls: per (activation, group) as the sweep does, or one einsum."""
  n_schemes = sum(group_sizes)
  ws = [jax.random.normal(jax.random.key(1), (seeds, width, width)) / math.sqrt(width) for _ in group_sizes]
  xs = tuple(tuple(jax.random.normal(jax.random.key(2), (seeds, k, 2 * batch, width)) for k in group_sizes)
             for _ in range(n_acts))

  def grouped(ws, xs):
    def layer(carry, _):
      return tuple(tuple((x.reshape(-1, width) @ w).reshape(x.shape) for x, w in zip(blocks, ws, strict=True))
                   for blocks in carry), None
    return jax.lax.scan(layer, xs, None, length=depth)[0]

  w = jax.random.normal(jax.random.key(1), (seeds, n_schemes, width, width)) / math.sqrt(width)
  x = jax.random.normal(jax.random.key(2), (seeds, n_acts, n_schemes, batch, width))

  def batched(w, x):  # forward and tangent for every (activation, scheme) in one einsum each
    def layer(carry, _):
      x, t = carry
      return (jnp.einsum("akbn,knm->akbm", x, w), jnp.einsum("akbn,knm->akbm", t, w)), None
    return jax.lax.scan(layer, (x, x), None, length=depth)[0]

  times = []
  for fn, args in ((jax.jit(jax.vmap(grouped)), (ws, xs)), (jax.jit(jax.vmap(batched)), (w, x))):
    jax.block_until_ready(fn(*args))
    times.append(best_of(lambda fn=fn, args=args: fn(*args), repeats))
  return min(times)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--width", type=int, default=512)
  parser.add_argument("--depth", type=int, default=64)
  parser.add_argument("--batch", type=int, default=128)
  parser.add_argument("--seeds", type=int, default=4)
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  acts = ("relu", "tanh", "gelu")
  schemes = ("he_normal", "glorot_normal", "lecun_normal", "torch_default_kernel")
  families = ("truncated_normal", "uniform")
  w, d, b, s, r = args.width, args.depth, args.batch, args.seeds, args.repeats
  print(f"grid: {len(schemes)} schemes ({', '.join(schemes)}) x {len(acts)} activations, width {w}, "
        f"depth {d}, batch {b}, {s} seeds; {jax.devices()[0].platform}")

  t_sweep = sweep_time(schemes, acts, w, d, b, s, "dense", r)
  t_rng = rng_floor(families, w, d, s, r)
  # the distinct simulations: truncated normal he and lecun (glorot draws lecun's weights on square layers,
  # and the sweep runs it once), uniform torch; and every scheme's, as a loop over the four would do
  t_mm = matmul_floor((2, 1), len(acts), w, d, b, s, r)
  t_mm_all = matmul_floor((3, 1), len(acts), w, d, b, s, r)
  bound = t_rng + t_mm
  print(f"dense sweep {t_sweep:.3f} s | rng {t_rng:.3f} s + matmul of its 3 distinct lanes {t_mm:.3f} s = "
        f"bound {bound:.3f} s | sweep / bound = {t_sweep / bound:.2f} (target <= 1.3); against the matmuls of "
        f"all 4 schemes ({t_mm_all:.3f} s): {t_sweep / (t_rng + t_mm_all):.2f}")

  gb = max(4, w // 16)  # width = 16 x batch, where "auto" takes the gaussian engine
  gauss = {f"normal_{k}": jaxinit.variance_scaling(k, "fan_in", "normal") for k in (1.0, 2.0, 2.5, 3.0)}
  t_gauss = sweep_time(gauss, acts, w, d, gb, s, "gaussian", r)
  t_dense_g = sweep_time(gauss, acts, w, d, gb, s, "dense", r)
  bound_g = rng_floor(("normal",), w, d, s, r) + matmul_floor((len(gauss),), len(acts), w, d, gb, s, r)
  print(f"gaussian engine, {len(gauss)} Gaussian schemes, width {w} = {w // gb} x batch {gb}: "
        f"{t_gauss:.3f} s vs dense bound {bound_g:.3f} s ({bound_g / t_gauss:.1f}x below) "
        f"and dense engine {t_dense_g:.3f} s ({t_dense_g / t_gauss:.1f}x faster)")


if __name__ == "__main__":
  main()
