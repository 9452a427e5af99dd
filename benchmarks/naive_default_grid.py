"""The naive Flax loop on the CLI's default grid, estimated from a random sample of it.

`jaxinit sweep`'s default grid is 6 schemes x 3 activations x widths 32..512 x depths 1..128
x 3 seeds: 11,520 configurations, 34,560 networks of up to 128 layers. The per-configuration
loop users write (benchmarks/sweep_vs_naive.py: build an nnx MLP, init, compile and run a
jitted forward + backward, for each seed) would take hours here, so this script times it on
a uniform random sample of the configurations, each new to the process (its compile
included), and scales the sample mean to the grid, with its standard error. Then it times
`jaxinit.sweep` on the whole grid in the same process, cold and warm, and prints the ratios.

  python benchmarks/naive_default_grid.py                 # 120 sampled configurations
  python benchmarks/naive_default_grid.py --sample 30     # a quicker, rougher estimate
"""

import argparse
import math
import random
import time

import jax
from sweep_vs_naive import naive_network

import jaxinit
from jaxinit.cli import default_sweep_config


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--sample", type=int, default=120, help="configurations timed (default %(default)s)")
  parser.add_argument("--seed", type=int, default=0, help="seed of the sample (default %(default)s)")
  args = parser.parse_args()
  config = default_sweep_config()  # the grid `jaxinit sweep` runs with no options
  schemes, acts = list(config.scheme_labels), list(config.activation_labels)
  widths, depths = list(config.widths), list(config.depths)
  batch, seeds = config.batch, config.seeds
  grid = [(s, a, w, d) for s in schemes for a in acts for w in widths for d in depths]
  sample = random.Random(args.seed).sample(grid, args.sample)
  print(f"grid: {len(schemes)} schemes x {len(acts)} activations x widths {widths} x depths 1..{depths[-1]} x "
        f"{seeds} seeds = {len(grid)} configurations, batch {batch}; timing {len(sample)} of them")

  step = naive_network()
  for w in widths:  # warm the eager initializers per width, as the full loop would after its first configuration
    step(schemes[0], acts[0], w, 1, 0, batch)
  times = []
  for scheme, act, width, depth in sample:
    t0 = time.perf_counter()
    for seed in range(seeds):
      step(scheme, act, width, depth, seed, batch)
    times.append(time.perf_counter() - t0)
  n = len(times)
  mean = sum(times) / n
  se = math.sqrt(sum((t - mean) ** 2 for t in times) / (n - 1) / n)
  total, total_se = mean * len(grid), se * len(grid)
  print(f"naive loop: {mean:.2f} s per configuration (+- {se:.2f}) -> {total / 3600:.2f} h (+- {total_se / 3600:.2f} h) "
        f"for the grid")

  t0 = time.perf_counter()
  jaxinit.sweep(config=config)
  cold = time.perf_counter() - t0
  t0 = time.perf_counter()
  jaxinit.sweep(config=config)
  warm = time.perf_counter() - t0
  print(f"jaxinit.sweep on the grid: cold {cold:.1f} s, warm {warm:.1f} s "
        f"({jax.devices()[0].platform}, {len(jax.devices())} device)")
  print(f"naive / sweep: {total / cold:.0f}x cold, {total / warm:.0f}x warm")


if __name__ == "__main__":
  main()
