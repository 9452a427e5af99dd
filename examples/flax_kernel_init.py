"""jaxinit schemes as Flax `kernel_init`, in linen and nnx, with sharding annotations on a device mesh.

Builds the same deep MLP in linen and in nnx for four initializations, each kernel wrapped in
``with_partitioning`` and initialised sharded over a ``("data", "model")`` mesh of the devices
there are (one CPU is fine), pushes a batch of N(0, 1) inputs through, and prints the std of
every layer's pre-activations beside the mean-field prediction ``sqrt(q^l)`` (jaxinit.theory.qmap):

* ``he_normal`` + relu: std stays at sqrt(2);
* ``for_activation("gelu")`` + gelu: the exact gain keeps the std near 1;
* ``orthogonal(gain("tanh"))`` + tanh: orthogonal kernels with the tanh gain;
* ``torch_default_kernel`` + ``torch_default_bias`` + relu: PyTorch's default, Var W = 1/(3 fan_in),
  shrinks the signal by sqrt(1/6) per layer.

It also checks that a ``dirac`` convolution is the identity. Writes ``flax_kernel_init.png``.

  python examples/flax_kernel_init.py            # width 512, depth 10
  python examples/flax_kernel_init.py --quick    # width 64, depth 4
"""

import argparse
import math
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax import nnx
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxinit
from jaxinit import theory


def configs(width: int) -> list[dict]:
  """(label, kernel init, bias init, activation, sigma_w^2, sigma_b^2) for a width x width layer."""
  tanh_gain = jaxinit.gain("tanh")
  return [
      dict(label="he_normal / relu", kernel=jaxinit.he_normal(), bias=nn.initializers.zeros, act="relu",
           sw2=2.0, sb2=0.0),
      dict(label='for_activation("gelu") / gelu', kernel=jaxinit.for_activation("gelu"),
           bias=nn.initializers.zeros, act="gelu", sw2=jaxinit.gain("gelu") ** 2, sb2=0.0),
      dict(label="orthogonal(gain tanh) / tanh", kernel=jaxinit.orthogonal(tanh_gain), bias=nn.initializers.zeros,
           act="tanh", sw2=tanh_gain ** 2, sb2=0.0),
      dict(label="torch default / relu", kernel=jaxinit.torch_default_kernel(),
           bias=jaxinit.torch_default_bias(fan_in=width), act="relu", sw2=1.0 / 3.0, sb2=1.0 / (3.0 * width)),
  ]


ACTIVATIONS = {"relu": jax.nn.relu, "gelu": jax.nn.gelu, "tanh": jnp.tanh}


class LinenMLP(nn.Module):
  """``depth`` dense layers; returns every layer's pre-activations."""
  width: int
  depth: int
  kernel_init: jaxinit.Initializer
  bias_init: jaxinit.Initializer
  activation: str

  @nn.compact
  def __call__(self, x):
    pre = []
    for _ in range(self.depth):
      h = nn.Dense(self.width, kernel_init=nn.with_partitioning(self.kernel_init, ("data", "model")),
                   bias_init=nn.with_partitioning(self.bias_init, ("model",)))(x)
      pre.append(h)
      x = ACTIVATIONS[self.activation](h)
    return pre


class NnxMLP(nnx.Module):
  """The same network in nnx."""

  def __init__(self, width, depth, kernel_init, bias_init, activation, *, rngs: nnx.Rngs):
    self.layers = nnx.List([
        nnx.Linear(width, width, kernel_init=nnx.with_partitioning(kernel_init, ("data", "model")),
                   bias_init=nnx.with_partitioning(bias_init, ("model",)), rngs=rngs)
        for _ in range(depth)])
    self.activation = activation

  def __call__(self, x):
    pre = []
    for layer in self.layers:
      h = layer(x)
      pre.append(h)
      x = ACTIVATIONS[self.activation](h)
    return pre


def mesh_of_all_devices():
  """A ("data", "model") mesh, every device on "model" (1 x 1 on one CPU), with GSPMD (Auto) axes as
  linen's and nnx's ``with_partitioning`` annotations expect: XLA adds the collectives between layers."""
  return jax.make_mesh((1, jax.device_count()), ("data", "model"), axis_types=(AxisType.Auto, AxisType.Auto))


def linen_stds(cfg, width, depth, x, mesh, key):
  model = LinenMLP(width, depth, cfg["kernel"], cfg["bias"], cfg["act"])
  abstract = jax.eval_shape(model.init, key, x)
  shardings = jax.tree.map(lambda s: NamedSharding(mesh, s), nn.get_partition_spec(abstract))
  params = jax.jit(model.init, out_shardings=shardings)(key, x)
  kernel = params["params"]["Dense_0"]["kernel"].value
  assert kernel.sharding.is_equivalent_to(NamedSharding(mesh, P("data", "model")), 2), kernel.sharding
  pre = jax.jit(model.apply)(params, x)
  return [float(jnp.std(h)) for h in pre]


def nnx_stds(cfg, width, depth, x, mesh, seed):
  @nnx.jit
  def create():
    model = NnxMLP(width, depth, cfg["kernel"], cfg["bias"], cfg["act"], rngs=nnx.Rngs(seed))
    state = nnx.state(model)
    nnx.update(model, jax.lax.with_sharding_constraint(state, nnx.get_partition_spec(state)))
    return model

  with jax.set_mesh(mesh):
    model = create()
    kernel = model.layers[0].kernel[...]
    assert kernel.sharding.is_equivalent_to(NamedSharding(mesh, P("data", "model")), 2), kernel.sharding
    pre = nnx.jit(lambda m, x: m(x))(model, x)
  return [float(jnp.std(h)) for h in pre]


def predicted_stds(cfg, depth, m0: float) -> list[float]:
  """sqrt(q^l), l = 1..depth: q^1 = sigma_w^2 M_0 + sigma_b^2, then the q-map."""
  q0 = cfg["sw2"] * m0 + cfg["sb2"]
  q = np.asarray(theory.qmap(cfg["act"], cfg["sw2"], cfg["sb2"], q0, depth - 1), dtype=float)
  return [math.sqrt(v) for v in q]


def dirac_check(key) -> float:
  """max |conv(x) - x| for a 3x3 'SAME' convolution initialised with jaxinit.dirac()."""
  conv = nn.Conv(8, (3, 3), padding="SAME", use_bias=False, kernel_init=jaxinit.dirac())
  x = jax.random.normal(key, (2, 16, 16, 8), jnp.float32)
  y = conv.apply(conv.init(key, x), x)
  return float(jnp.max(jnp.abs(y - x)))


def plot(results, depth, path: Path) -> Path:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  from matplotlib.ticker import MaxNLocator

  fig, ax = plt.subplots(figsize=(7.5, 4.6), layout="constrained")
  layers = np.arange(1, depth + 1)
  for i, (label, lin, nx, pred) in enumerate(results):
    color = f"C{i}"
    ax.plot(layers, pred, color=color, lw=1.5, label=f"{label}: theory")
    ax.plot(layers, lin, "o", color=color, ms=6, mfc="none")
    ax.plot(layers, nx, "x", color=color, ms=6)
  ax.plot([], [], "o", color="black", mfc="none", label="measured, linen")
  ax.plot([], [], "x", color="black", label="measured, nnx")
  ax.xaxis.set_major_locator(MaxNLocator(integer=True))
  ax.set_yscale("log")
  ax.set_xlabel("layer")
  ax.set_ylabel("std of pre-activations")
  ax.set_title("Flax models with jaxinit kernel_init: measured vs mean-field theory")
  ax.legend(fontsize=8)
  ax.grid(alpha=0.3)
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="a small network (what CI runs)")
  parser.add_argument("--out", default=".", help="folder for flax_kernel_init.png (default: cwd)")
  args = parser.parse_args(argv)
  width, depth, batch = (64, 4, 64) if args.quick else (512, 10, 256)
  key = jax.random.key(0)
  x = jax.random.normal(jax.random.key(1), (batch, width), jnp.float32)
  m0 = float(jnp.mean(x * x))
  mesh = mesh_of_all_devices()
  print(f"mesh {dict(mesh.shape)} on {jax.device_count()} device(s); width {width}, depth {depth}, batch {batch}")

  results = []
  for cfg in configs(width):
    lin = linen_stds(cfg, width, depth, x, mesh, key)
    nx = nnx_stds(cfg, width, depth, x, mesh, 0)
    pred = predicted_stds(cfg, depth, m0)
    results.append((cfg["label"], lin, nx, pred))
    print(f"\n{cfg['label']}: std of pre-activations per layer")
    print(f"  {'layer':>5} {'linen':>10} {'nnx':>10} {'theory':>10}")
    for layer in range(depth):
      print(f"  {layer + 1:>5} {lin[layer]:>10.4g} {nx[layer]:>10.4g} {pred[layer]:>10.4g}")
  print(f"\ndirac 3x3 conv: max |conv(x) - x| = {dirac_check(key):.3g}")
  out = Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  path = plot(results, depth, out / "flax_kernel_init.png")
  print(f"wrote {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
