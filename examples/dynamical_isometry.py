"""Dynamical isometry (Pennington, Schoenholz & Ganguli 2017): the Jacobian spectrum of deep nets at criticality.

At the edge of chaos (chi_1 = 1) the eigenvalues lambda of J J^T, J the input-output Jacobian of an
L-layer net, have mean 1 and variance L (mu_2 / mu_1^2 - 1 - s_1), mu_k = E[phi'(sqrt(q*) z)^(2k)],
s_1 = -1 for Gaussian weights and 0 for orthogonal ones: linear Gaussian L, linear orthogonal 0,
ReLU Gaussian 2L, ReLU orthogonal L, and tanh orthogonal small when q* is small. Only orthogonal
weights with a saturating activation keep the spectrum concentrated as depth grows.

Here J is computed explicitly with jax.jacfwd for every depth up to L at once (the net returns
every layer's output), at inputs scaled to the fixed point q*, for Gaussian
(``variance_scaling(sigma_w2, "fan_in", "normal")``) and orthogonal (``orthogonal(sigma_w)``)
weights, and the pooled eigenvalues' variance / mean^2 is compared with
``theory.jacobian_spectrum_variance``. Writes ``dynamical_isometry.png``.

  python examples/dynamical_isometry.py            # width 256, depths up to 32, 8 seeds
  python examples/dynamical_isometry.py --quick    # width 64, depths up to 8, 4 seeds, no linear nets
"""

import argparse
import functools
import math
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jaxinit
from jaxinit import theory

TANH_SIGMA_B2 = 0.05
ACTIVATIONS = {"identity": lambda x: x, "relu": jax.nn.relu, "tanh": jnp.tanh}


def critical_point(activation: str) -> tuple[float, float, float]:
  """(sigma_w2, sigma_b2, q*) on the edge of chaos."""
  if activation == "identity":
    return 1.0, 0.0, 1.0
  if activation == "relu":
    return 2.0, 0.0, 1.0  # without bias every q is a fixed point
  edge = theory.edge_of_chaos(activation, TANH_SIGMA_B2)
  return float(edge.sigma_w2), TANH_SIGMA_B2, float(edge.q_star)


def weights(orthogonal: bool, sw2: float, sb2: float, width: int, depth: int, seeds: int, key):
  """Per seed: ``depth`` kernels (Gaussian or orthogonal, variance sigma_w2 / width) and biases."""
  init = jaxinit.orthogonal(math.sqrt(sw2)) if orthogonal else jaxinit.variance_scaling(sw2, "fan_in", "normal")
  k_w, k_b = jax.random.split(key)
  ws = jax.jit(jax.vmap(lambda k: init(k, (width, width), jnp.float32)))(jax.random.split(k_w, seeds * depth))
  bs = math.sqrt(sb2) * jax.random.normal(k_b, (seeds, depth, width), jnp.float32)
  return ws.reshape(seeds, depth, width, width), bs


@functools.partial(jax.jit, static_argnames="activation")
def jacobians(ws, bs, x0, *, activation: str):
  """d x^l / d x^0 for l = 1..depth, per seed: (seeds, depth, width, width). One program per activation."""
  phi = ACTIVATIONS[activation]

  def one_seed(ws, bs, x0):
    def every_layer(x):
      def layer(x, wb):
        w, b = wb
        x = phi(x @ w + b)
        return x, x
      return jax.lax.scan(layer, x, (ws, bs))[1]  # (depth, width)

    return jax.jacfwd(every_layer)(x0)  # (depth, width, width)

  return jax.vmap(one_seed)(ws, bs, x0)


def inputs_at_fixed_point(activation: str, width: int, seeds: int, key) -> jax.Array:
  """N(0, 1) inputs rescaled so that h^1 = x0 W + b has second moment q*: the net starts at its fixed point."""
  sw2, sb2, q_star = critical_point(activation)
  x0 = jax.random.normal(key, (seeds, width), jnp.float32)
  return x0 * jnp.sqrt((q_star - sb2) / sw2 / jnp.mean(x0 * x0, axis=1, keepdims=True))


def spectrum_stats(jac: jax.Array, depths) -> tuple[np.ndarray, np.ndarray]:
  """Pooled over seeds: mean of lambda and Var(lambda) / mean(lambda)^2 per depth; lambda = sigma(J)^2."""
  lam = np.asarray(jnp.linalg.svd(jac[:, [d - 1 for d in depths]], compute_uv=False), dtype=np.float64) ** 2
  lam = np.moveaxis(lam, 1, 0).reshape(len(depths), -1)  # (depth, seeds * width)
  mean = lam.mean(axis=1)
  return mean, lam.var(axis=1) / mean**2


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="a small grid (what CI runs)")
  parser.add_argument("--out", default=".", help="folder for dynamical_isometry.png (default: cwd)")
  args = parser.parse_args(argv)
  width, depths, seeds = (64, (2, 4, 8), 4) if args.quick else (256, (2, 4, 8, 16, 32), 8)
  activations = ("relu", "tanh") if args.quick else tuple(ACTIVATIONS)  # linear nets: run by hand

  print(f"width {width}, {seeds} seeds, eigenvalues of J J^T pooled over seeds; tanh at sigma_b^2 = "
        f"{TANH_SIGMA_B2}, sigma_w^2 = {critical_point('tanh')[0]:.4f} (q* = {critical_point('tanh')[2]:.3f})")
  print(f"{'activation':>10} {'weights':>10} {'L':>3} {'Var/mean^2 sim':>15} {'theory':>8} {'mean sim':>9} "
        f"{'theory':>7}")
  results = []
  key = jax.random.key(0)
  for activation in activations:
    sw2, sb2, _ = critical_point(activation)
    for orthogonal in (False, True):
      k_w, k_x = jax.random.split(jax.random.fold_in(key, orthogonal))
      ws, bs = weights(orthogonal, sw2, sb2, width, max(depths), seeds, k_w)
      jac = jacobians(ws, bs, inputs_at_fixed_point(activation, width, seeds, k_x), activation=activation)
      mean, spread = spectrum_stats(jac, depths)
      pred = [theory.jacobian_spectrum_variance(activation, sw2, sb2, d, orthogonal=orthogonal) for d in depths]
      pred_spread = np.asarray([float(p.variance) for p in pred])
      pred_mean = np.asarray([float(p.mean) for p in pred])
      label = f"{activation}, {'orthogonal' if orthogonal else 'Gaussian'}"
      results.append((label, spread, pred_spread))
      for i, d in enumerate(depths):
        print(f"{activation:>10} {'orthogonal' if orthogonal else 'Gaussian':>10} {d:>3} {spread[i]:>15.3f} "
              f"{pred_spread[i]:>8.3f} {mean[i]:>9.3f} {pred_mean[i]:>7.3f}")

  out = Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  path = plot(results, depths, width, out / "dynamical_isometry.png")
  print(f"wrote {path}")
  return 0


def plot(results, depths, width, path: Path) -> Path:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
  for i, (label, spread, pred) in enumerate(results):
    color = f"C{i}"
    ax.plot(depths, pred, color=color, lw=1.5, ls="-" if "orthogonal" in label else "--")
    ax.plot(depths, spread, "o", color=color, label=label)
  ax.plot([], [], color="black", ls="--", label="theory (Gaussian)")
  ax.plot([], [], color="black", ls="-", label="theory (orthogonal)")
  ax.set_xscale("log", base=2)
  ax.set_xticks(depths, [str(d) for d in depths])
  ax.set_xlabel("depth L")
  ax.set_ylabel(r"Var($\lambda$) / mean($\lambda$)$^2$,  $\lambda$ = eig($J J^T$)")
  ax.set_title(f"Jacobian spectrum at the edge of chaos (width {width}): dots simulated, lines theory")
  ax.legend(fontsize=8, ncols=2)
  ax.grid(alpha=0.3)
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path


if __name__ == "__main__":
  sys.exit(main())
