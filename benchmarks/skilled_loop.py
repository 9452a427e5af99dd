"""jaxinit.sweep against the strongest loop a skilled JAX user writes without jaxinit, on the same grids.

skilled  for every (scheme, activation, width): one jitted program that draws the stacked weights of
         all layers with the scheme (``jax.nn.initializers``), runs the deepest network once in a
         ``lax.scan`` over layers with a forward-mode tangent (``jax.jvp``), records per-layer statistics
         (second moments of pre-activations and tangents, the correlation of paired inputs) so that every
         shallower depth is a prefix, and ``vmap``s over seeds;
sweep    one jaxinit.sweep call over the whole grid (no cache folder: everything is traced and compiled).

Each side is timed cold in a fresh process (compiles included, imports excluded), then warm (the same
work again in that process). A third row times a second fresh process once a first one has filled a
cache: jax's persistent compilation cache for the loop (what a skilled user turns on), the sweep's
cache folder (``sweep(cache=...)``) for jaxinit. Two grids, each side of each in its own process:

mid      he_normal, lecun_normal, glorot_normal x relu, tanh x depths 1..64 x widths 64, 128, 256 x 2 seeds,
         batch 64 (targets: >= 10x cold, ahead warm);
default  the grid of ``jaxinit sweep``: 6 schemes x relu, tanh, gelu x depths 1..128 x widths 32..512 x
         3 seeds, batch 64.

  python benchmarks/skilled_loop.py                 # both grids (a few minutes)
  python benchmarks/skilled_loop.py --grid mid      # one
"""

import argparse
import json
import math
import os
import sys
import tempfile

from sweep_vs_naive import cold_then_warm, fresh_processes  # the same timing, beside it

GRIDS = {
    "mid": dict(schemes=["he_normal", "lecun_normal", "glorot_normal"], activations=["relu", "tanh"], depth=64,
                widths=[64, 128, 256], batch=64, seeds=2),
    "default": dict(schemes=["he_normal", "glorot_normal", "lecun_normal", "orthogonal", "torch_default_kernel",
                             "edge_of_chaos:tanh,0.05"], activations=["relu", "tanh", "gelu"], depth=128,
                    widths=[32, 64, 128, 256, 512], batch=64, seeds=3),
}
EDGE_SIGMA_W2, EDGE_SIGMA_B2 = 1.760955, 0.05  # jaxinit.theory.edge_of_chaos("tanh", 0.05), written out


def skilled_program(scheme: str, activation: str, width: int, depth: int, batch: int, seeds: int):
  """One jitted program for a (scheme, activation, width): every depth up to ``depth``, every seed."""
  import jax
  import jax.numpy as jnp

  inits = {"he_normal": jax.nn.initializers.he_normal(), "glorot_normal": jax.nn.initializers.glorot_normal(),
           "lecun_normal": jax.nn.initializers.lecun_normal(), "orthogonal": jax.nn.initializers.orthogonal(),
           "torch_default_kernel": jax.nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform"),
           "edge_of_chaos:tanh,0.05": jax.nn.initializers.variance_scaling(EDGE_SIGMA_W2, "fan_in", "normal")}
  bias_std = math.sqrt(EDGE_SIGMA_B2) if scheme.startswith("edge_of_chaos") else 0.0
  acts = {"relu": jax.nn.relu, "tanh": jnp.tanh, "gelu": jax.nn.gelu}
  init, phi = inits[scheme], acts[activation]

  def network(key):
    key_w, key_b, key_x, key_v = jax.random.split(key, 4)
    weights = jax.vmap(lambda k: init(k, (width, width), jnp.float32))(jax.random.split(key_w, depth))
    biases = bias_std * jax.random.normal(key_b, (depth, width))
    x = jax.random.normal(key_x, (batch, width))
    v = jax.random.normal(key_v, (batch, width))

    def layer(carry, wb):
      (x, t), (w, b) = carry, wb
      h, dh = jax.jvp(lambda x: x @ w + b, (x,), (t,))
      y, dy = jax.jvp(phi, (h,), (dh,))
      pairs = jnp.sum(h[0::2] * h[1::2], axis=1) / jnp.sqrt(jnp.sum(h[0::2] ** 2, axis=1) *
                                                            jnp.sum(h[1::2] ** 2, axis=1))
      stats = (jnp.mean(h ** 2), jnp.mean(dh ** 2), jnp.mean(pairs), jnp.mean(y ** 2))
      return (y, dy), stats

    _, stats = jax.lax.scan(layer, (x, v), (weights, biases))
    return stats

  keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(0), i))(jnp.arange(seeds))
  return jax.jit(jax.vmap(network)), keys


def run_skilled(g):
  import jax

  programs = {}

  def once():
    n = 0
    for scheme in g["schemes"]:
      for act in g["activations"]:
        for width in g["widths"]:
          key = (scheme, act, width)
          if key not in programs:
            programs[key] = skilled_program(scheme, act, width, g["depth"], g["batch"], g["seeds"])
          fn, keys = programs[key]
          jax.block_until_ready(fn(keys))
          n += g["depth"] * g["seeds"]  # networks: every depth of every seed
    return n

  return cold_then_warm(once)


def run_sweep(g, cache=None):
  import jax

  import jaxinit

  def once():
    r = jaxinit.sweep(g["schemes"], g["activations"], depths=range(1, g["depth"] + 1), widths=g["widths"],
                      batch=g["batch"], seeds=g["seeds"], devices=jax.local_devices()[:1], cache=cache)
    return r.verdict().size * g["seeds"]

  return cold_then_warm(once)


def run_cached(g, side: str, folder: str):
  """``side`` in a process whose cache (``folder``) an earlier process may have filled."""
  if side == "sweep":
    return run_sweep(g, cache=os.path.join(folder, "programs"))
  import jax

  jax.config.update("jax_compilation_cache_dir", os.path.join(folder, "jax"))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
  return run_skilled(g)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--grid", choices=("both", *GRIDS), default="both")
  parser.add_argument("--mode", default="both", help=argparse.SUPPRESS)
  parser.add_argument("--cache", default=None, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.mode != "both":
    g = GRIDS[args.grid]
    if args.mode.endswith("_cached"):
      print(json.dumps(run_cached(g, args.mode.removesuffix("_cached"), args.cache)))
    else:
      print(json.dumps((run_skilled if args.mode == "skilled" else run_sweep)(g)))
    return
  for name in GRIDS if args.grid == "both" else (args.grid,):
    g = GRIDS[name]
    with tempfile.TemporaryDirectory() as folder:
      sys.argv = [sys.argv[0], "--grid", name, "--cache", folder]
      out = fresh_processes(__file__, ("sweep", "skilled", "sweep_cached", "skilled_cached", "sweep_cached",
                                       "skilled_cached"))  # the second of each: a filled cache
    print(f"{name} grid: {len(g['schemes'])} schemes x {len(g['activations'])} activations x depths 1..{g['depth']}"
          f" x widths {','.join(map(str, g['widths']))} x {g['seeds']} seeds = {out['sweep']['configs']} networks, "
          f"batch {g['batch']}")
    rows = (("cold", "skilled", "sweep", "cold", ">= 10x" if name == "mid" else "-"),
            ("warm", "skilled", "sweep", "warm", "> 1x" if name == "mid" else "-"),
            ("new process, cache filled", "skilled_cached", "sweep_cached", "cold", "-"))
    for label, loop, ours, kind, target in rows:
      skilled, sweep = out[loop][kind], out[ours][kind]
      print(f"  {label}: skilled loop {skilled:.2f} s, sweep {sweep:.2f} s -> {skilled / sweep:.1f}x faster "
            f"(target {target})")


if __name__ == "__main__":
  main()
