"""jaxinit.sweep against the per-configuration loop users write today, on the same grid.

naive  for every (scheme, activation, depth, width, seed): build a Flax nnx MLP with that
       kernel_init, initialise it, and run a jitted forward + backward pass that returns the
       per-layer second moments of pre-activations and of their gradients;
sweep  one jaxinit.sweep call over the whole grid.

Each is timed cold in a fresh process (compiles included, imports excluded), then warm (the
same work again in that process). Prints both times and the ratios; targets: >= 30x cold,
>= 100x warm.

  python benchmarks/sweep_vs_naive.py                      # depths 1..64: about 15 minutes on 2 cores
  python benchmarks/sweep_vs_naive.py --depths 8 --widths 32,64   # a quick look

The default grid is half the CLI's depth range (1..64) on three widths; the naive loop's cost
grows with the square of the deepest depth and the sweep's about linearly, so the ratios grow
with depth. benchmarks/naive_default_grid.py estimates the naive loop on the CLI's full grid.
"""

import argparse
import json
import subprocess
import sys
import time


def grid(args):
  return dict(schemes=args.schemes.split(","), activations=args.activations.split(","),
              depths=list(range(1, args.depths + 1)), widths=[int(w) for w in args.widths.split(",")],
              batch=args.batch, seeds=args.seeds)


def naive_network():
  """The per-network step users write today: ``step(scheme, activation, width, depth, seed, batch)``.

  It builds a Flax nnx MLP with that kernel_init, initialises it, and runs a jitted forward +
  backward pass that returns the per-layer second moments of pre-activations and gradients.
  """
  import jax
  import jax.numpy as jnp
  from flax import nnx

  import jaxinit

  acts = {"relu": jax.nn.relu, "tanh": jnp.tanh, "gelu": jax.nn.gelu}

  class MLP(nnx.Module):
    def __init__(self, width, depth, kernel_init, act, rngs):
      self.layers = nnx.List([nnx.Linear(width, width, kernel_init=kernel_init, rngs=rngs)
                              for _ in range(depth)])
      self.act = act

    def __call__(self, x):
      pre = []
      for layer in self.layers:
        h = layer(x)
        pre.append(h)
        x = self.act(h)
      return x, pre

  @nnx.jit
  def forward_backward(model, x):
    def loss(model, x, probes):
      y, pre = model(x)
      return jnp.sum(y * probes), pre
    probes = jax.random.normal(jax.random.key(1), x.shape)
    (_, pre), grads = nnx.value_and_grad(loss, has_aux=True)(model, x, probes)
    return [jnp.mean(h ** 2) for h in pre], jax.tree.map(lambda g: jnp.mean(g ** 2), grads)

  def step(scheme, act, width, depth, seed, batch):
    init = jaxinit.initializers._catalog.lookup(scheme)  # any name `jaxinit sweep` takes
    model = MLP(width, depth, init, acts[act], nnx.Rngs(seed))
    x = jax.random.normal(jax.random.key(seed), (batch, width))
    return jax.device_get(forward_backward(model, x))

  return step


def run_naive(g):
  step = naive_network()

  def once():
    results = []
    for scheme in g["schemes"]:
      for act in g["activations"]:
        for width in g["widths"]:
          for depth in g["depths"]:
            for seed in range(g["seeds"]):
              results.append(step(scheme, act, width, depth, seed, g["batch"]))
    return len(results)

  return cold_then_warm(once)


def run_sweep(g):
  import jax

  import jaxinit

  def once():
    r = jaxinit.sweep(g["schemes"], g["activations"], depths=g["depths"], widths=g["widths"], batch=g["batch"],
                      seeds=g["seeds"], devices=jax.local_devices()[:1])
    return r.verdict().size * g["seeds"]

  return cold_then_warm(once)


def cold_then_warm(once):
  """Times ``once()`` twice in this process: the first call compiles, the second reuses."""
  t0 = time.perf_counter()
  n = once()
  cold = time.perf_counter() - t0
  t0 = time.perf_counter()
  once()
  return {"configs": n, "cold": cold, "warm": time.perf_counter() - t0}


def fresh_processes(script: str, modes) -> dict:
  """Runs ``script`` once per mode, each in a fresh process (``--mode MODE``); their JSON lines by mode."""
  out = {}
  for mode in modes:
    proc = subprocess.run([sys.executable, script, *sys.argv[1:], "--mode", mode], capture_output=True,
                          text=True, check=True)
    out[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--schemes", default="he_normal,glorot_normal,lecun_normal,orthogonal")
  parser.add_argument("--activations", default="relu,tanh")
  parser.add_argument("--depths", type=int, default=64, help="depths 1..D")
  parser.add_argument("--widths", default="64,128,256")
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--seeds", type=int, default=2)
  parser.add_argument("--mode", choices=("both", "naive", "sweep"), default="both", help=argparse.SUPPRESS)
  args = parser.parse_args()
  g = grid(args)
  if args.mode != "both":
    print(json.dumps((run_naive if args.mode == "naive" else run_sweep)(g)))
    return
  out = fresh_processes(__file__, ("sweep", "naive"))
  n = out["naive"]["configs"]
  print(f"grid: {len(g['schemes'])} schemes x {len(g['activations'])} activations x depths 1..{args.depths} x "
        f"widths {args.widths} x {g['seeds']} seeds = {n} networks, batch {g['batch']}")
  for kind in ("cold", "warm"):
    naive, sweep = out["naive"][kind], out["sweep"][kind]
    target = 30 if kind == "cold" else 100
    print(f"{kind}: naive {naive:.1f} s ({n / naive:.1f} networks/s), sweep {sweep:.2f} s -> "
          f"{naive / sweep:.0f}x faster (target >= {target}x)")


if __name__ == "__main__":
  main()
