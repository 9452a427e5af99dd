"""Configurations x steps per second: jaxinit.trainability against a Python loop over Flax nnx models.

The loop is what users write today: for each configuration (scheme, activation, depth, seed),
build an ``nnx`` MLP with the scheme as ``kernel_init``, an ``nnx.Optimizer`` with
``optax.sgd``, and run an ``nnx.jit`` train step ``steps`` times on the same task and
minibatch size. Both are timed cold (first call: tracing and compiling included) and warm
(the same grid again, everything compiled); the ratio is printed.

  python benchmarks/trainability.py            # 2 schemes x 2 acts x 4 depths x 2 seeds, width 64, 100 steps
  python benchmarks/trainability.py --quick    # a tiny grid
"""

import argparse
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxinit
from jaxinit import training

ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh}


class MLP(nnx.Module):
  def __init__(self, features: int, width: int, depth: int, outputs: int, kernel_init, act, rngs: nnx.Rngs):
    fans = [features] + [width] * (depth - 1)
    self.layers = nnx.List([nnx.Linear(n, width, kernel_init=kernel_init, rngs=rngs) for n in fans])
    self.readout = nnx.Linear(width, outputs, kernel_init=kernel_init, rngs=rngs)
    self.act = act

  def __call__(self, x):
    for layer in self.layers:
      x = self.act(layer(x))
    return self.readout(x)


@nnx.jit
def train_step(model, optimizer, x, y):
  loss, grads = nnx.value_and_grad(lambda m: jnp.mean(jnp.square(m(x) - y)))(model)
  optimizer.update(model, grads)
  return loss


def python_loop(schemes, activations, depths, width, steps, seeds, batch, data) -> float:
  """Seconds to train every configuration one at a time, as a user would."""
  start = time.perf_counter()
  rng = np.random.default_rng(0)
  for scheme in schemes:
    init = jaxinit.initializers._catalog.lookup(scheme) if isinstance(scheme, str) else scheme
    for act in activations:
      for depth in depths:
        for seed in range(seeds):
          model = MLP(data.x_train.shape[1], width, depth, 1, init, ACTIVATIONS[act], nnx.Rngs(seed))
          optimizer = nnx.Optimizer(model, optax.sgd(0.01), wrt=nnx.Param)
          for _ in range(steps):
            idx = rng.choice(len(data.x_train), batch, replace=False)
            loss = train_step(model, optimizer, data.x_train[idx], data.y_train[idx])
          jax.block_until_ready(loss)
  return time.perf_counter() - start


def vmapped(schemes, activations, depths, width, steps, seeds, batch, data) -> float:
  start = time.perf_counter()
  result = jaxinit.trainability(schemes, activations, depths, width, data=data, steps=steps, seeds=seeds,
                                batch=batch)
  assert result.train_loss.shape[0] == len(schemes)
  return time.perf_counter() - start


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="a tiny grid")
  args = parser.parse_args(argv)
  schemes, activations = ("he_normal", "lecun_normal"), ("relu", "tanh")
  if args.quick:
    depths, width, steps, seeds, batch = (2, 4), 16, 20, 2, 32
  else:
    depths, width, steps, seeds, batch = (2, 4, 8, 16), 64, 100, 2, 64
  data = training.teacher()
  grid = (schemes, activations, depths, width, steps, seeds, batch, data)
  work = len(schemes) * len(activations) * len(depths) * seeds * steps
  print(f"grid: {len(schemes)} schemes x {len(activations)} activations x {len(depths)} depths {depths} x "
        f"{seeds} seeds = {work // steps} configurations, width {width}, {steps} steps, batch {batch}; "
        f"{jax.devices()[0].platform}, {jax.device_count()} device(s)")
  rows = []
  for name, fn in (("jaxinit.trainability", vmapped), ("python loop (nnx.jit + optax)", python_loop)):
    cold = fn(*grid)
    warm = fn(*grid)
    rows.append((name, cold, warm))
    print(f"{name:>30}: cold {cold:8.2f} s ({work / cold:9.0f} config-steps/s)   "
          f"warm {warm:8.2f} s ({work / warm:9.0f} config-steps/s)")
  (_, v_cold, v_warm), (_, l_cold, l_warm) = rows
  print(f"speed-up: cold {l_cold / v_cold:.1f}x, warm {l_warm / v_warm:.1f}x (target >= 20x warm)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
