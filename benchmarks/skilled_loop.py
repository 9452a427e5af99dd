"""jaxinit.sweep against the strongest loop a skilled JAX user writes without jaxinit, on the same grid.

skilled  for every (scheme, activation, width): one jitted program that draws the stacked weights of
         all layers with the scheme (``jax.nn.initializers``), runs the deepest network once in a
         ``lax.scan`` over layers with a forward-mode tangent (``jax.jvp``), records per-layer statistics
         (second moments of pre-activations and tangents, the correlation of paired inputs) so that every
         shallower depth is a prefix, and ``vmap``s over seeds;
sweep    one jaxinit.sweep call over the whole grid.

Each is timed cold in a fresh process (compiles included, imports excluded), then warm (the same work
again in that process). Prints both times and the ratios; targets: >= 10x cold, ahead (> 1x) warm.

  python benchmarks/skilled_loop.py                                   # the mid-size grid below
  python benchmarks/skilled_loop.py --schemes he_normal,glorot_normal,lecun_normal,orthogonal,torch_default_kernel \\
      --activations relu,tanh,gelu --depths 128 --widths 32,64,128,256,512 --seeds 3   # the CLI's default grid
"""

import argparse
import json

from sweep_vs_naive import cold_then_warm, fresh_processes  # the same timing, beside it


def grid(args):
  return dict(schemes=args.schemes.split(","), activations=args.activations.split(","), depth=args.depths,
              widths=[int(w) for w in args.widths.split(",")], batch=args.batch, seeds=args.seeds)


def skilled_program(scheme: str, activation: str, width: int, depth: int, batch: int, seeds: int):
  """One jitted program for a (scheme, activation, width): every depth up to ``depth``, every seed."""
  import jax
  import jax.numpy as jnp

  inits = {"he_normal": jax.nn.initializers.he_normal(), "glorot_normal": jax.nn.initializers.glorot_normal(),
           "lecun_normal": jax.nn.initializers.lecun_normal(), "orthogonal": jax.nn.initializers.orthogonal(),
           "torch_default_kernel": jax.nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform")}
  acts = {"relu": jax.nn.relu, "tanh": jnp.tanh, "gelu": jax.nn.gelu}
  init, phi = inits[scheme], acts[activation]

  def network(key):
    key_w, key_x, key_v = jax.random.split(key, 3)
    weights = jax.vmap(lambda k: init(k, (width, width), jnp.float32))(jax.random.split(key_w, depth))
    x = jax.random.normal(key_x, (batch, width))
    v = jax.random.normal(key_v, (batch, width))

    def layer(carry, w):
      (x, t) = carry
      h, dh = jax.jvp(lambda x: x @ w, (x,), (t,))
      y, dy = jax.jvp(phi, (h,), (dh,))
      pairs = jnp.sum(h[0::2] * h[1::2], axis=1) / jnp.sqrt(jnp.sum(h[0::2] ** 2, axis=1) *
                                                            jnp.sum(h[1::2] ** 2, axis=1))
      stats = (jnp.mean(h ** 2), jnp.mean(dh ** 2), jnp.mean(pairs), jnp.mean(y ** 2))
      return (y, dy), stats

    _, stats = jax.lax.scan(layer, (x, v), weights)
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


def run_sweep(g):
  import jax

  import jaxinit

  def once():
    r = jaxinit.sweep(g["schemes"], g["activations"], depths=range(1, g["depth"] + 1), widths=g["widths"],
                      batch=g["batch"], seeds=g["seeds"], devices=jax.local_devices()[:1])
    return r.verdict().size * g["seeds"]

  return cold_then_warm(once)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--schemes", default="he_normal,lecun_normal,glorot_normal")
  parser.add_argument("--activations", default="relu,tanh")
  parser.add_argument("--depths", type=int, default=64, help="depths 1..D")
  parser.add_argument("--widths", default="64,128,256")
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--seeds", type=int, default=2)
  parser.add_argument("--mode", choices=("both", "skilled", "sweep"), default="both", help=argparse.SUPPRESS)
  args = parser.parse_args()
  g = grid(args)
  if args.mode != "both":
    print(json.dumps((run_skilled if args.mode == "skilled" else run_sweep)(g)))
    return
  out = fresh_processes(__file__, ("sweep", "skilled"))
  n = out["sweep"]["configs"]
  print(f"grid: {len(g['schemes'])} schemes x {len(g['activations'])} activations x depths 1..{g['depth']} x "
        f"widths {args.widths} x {g['seeds']} seeds = {n} networks, batch {g['batch']}")
  for kind, target in (("cold", 10), ("warm", 1)):
    skilled, sweep = out["skilled"][kind], out["sweep"][kind]
    print(f"{kind}: skilled loop {skilled:.2f} s, sweep {sweep:.2f} s -> {skilled / sweep:.1f}x faster "
          f"(target >= {target}x)")


if __name__ == "__main__":
  main()
