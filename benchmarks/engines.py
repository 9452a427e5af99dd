"""Where the "gaussian" engine (X W sampled from its law) beats drawing every weight ("dense").

For Gaussian (variance_scaling(..., "normal")) and for orthogonal schemes, it times a warm
sweep with each engine over width / batch ratios and prints dense / gaussian: above 1 the
sampled engine is faster. `engine="auto"` samples Gaussian weights from width >= 16 x batch
and orthogonal ones from 8 x batch, where this measured faster on a 2-core CPU.

  python benchmarks/engines.py            # depth 32, 3 activations, 3 seeds
"""

import argparse
import time

import jax

import jaxinit

FAMILIES = {
    "normal": {f"normal_{k:g}": jaxinit.variance_scaling(k, "fan_in", "normal") for k in (1.0, 2.0, 2.5, 3.0)},
    "orthogonal": {"orthogonal": jaxinit.orthogonal(), "orthogonal_1.41": jaxinit.orthogonal(2 ** 0.5)},
}
CASES = [(512, 128), (512, 64), (512, 32), (256, 64), (256, 32), (256, 16), (128, 32), (128, 16), (128, 8),
         (64, 16), (64, 8), (64, 4)]


def warm_time(schemes, width, batch, engine, depth, seeds, repeats=3):
  kwargs = dict(schemes=schemes, activations=("relu", "tanh", "gelu"), depths=(depth,), widths=(width,),
                batch=batch, seeds=seeds, engine=engine, devices=jax.local_devices()[:1])
  jaxinit.sweep(**kwargs)  # compiles; cached in-process from here on
  best = float("inf")
  for _ in range(repeats):
    t0 = time.perf_counter()
    jaxinit.sweep(**kwargs)
    best = min(best, time.perf_counter() - t0)
  return best


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--depth", type=int, default=32)
  parser.add_argument("--seeds", type=int, default=3)
  args = parser.parse_args()
  for family, schemes in FAMILIES.items():
    print(f"{family} ({len(schemes)} schemes x 3 activations, depth {args.depth}, {args.seeds} seeds):")
    for width, batch in CASES:
      if family == "orthogonal" and 2 * batch > width:
        continue  # sampled orthogonal weights need width >= 2 x batch
      dense = warm_time(schemes, width, batch, "dense", args.depth, args.seeds)
      gauss = warm_time(schemes, width, batch, "gaussian", args.depth, args.seeds)
      print(f"  width {width:4d} = {width / batch:4g} x batch {batch:3d}: dense {dense:.3f} s, "
            f"gaussian {gauss:.3f} s -> {dense / gauss:.2f}x", flush=True)


if __name__ == "__main__":
  main()
