"""Trainability, measured by training: He et al. 2015 at depth 30 and Schoenholz et al. 2017's 6 xi_c.

He et al. 2015, Delving Deep into Rectifiers: a 30-layer ReLU MLP with weight variance 2/fan_in
trains; with 1/fan_in (the "Xavier" variance) the signal shrinks by 2^-15 and it stalls.
Schoenholz et al. 2017, Deep Information Propagation: tanh MLPs with sigma_b^2 = 0.05 and
sigma_w^2 in [1, 4] train only while depth < ~6 xi_c, so the trainable region is widest at the
edge of chaos (sigma_w^2 = 1.761, where xi_c diverges).

Both grids are trained by ``jaxinit.trainability`` (one jitted, vmapped program per width; plain
SGD at the default rate 0.01 on the teacher regression); ``jaxinit.theory.depth_scales`` gives xi_c
and ``jaxinit.sweep`` the signal-propagation verdicts at initialisation, drawn beside. Writes
``trainability_he2015.png`` and ``trainability.png``.

  python examples/trainability.py            # 13 sigma_w^2 x 12 depths up to 96, width 64, 600 steps
  python examples/trainability.py --quick    # 5 x 4 depths up to 24, width 16, 150 steps
"""

import argparse
import math
import sys
from pathlib import Path

import jax
import numpy as np

import jaxinit
from jaxinit import theory

SIGMA_B2 = 0.05


def he2015(steps: int, width: int, seeds: int, out: Path) -> int:
  """Trains the 30-layer ReLU MLP with both variances; prints and plots the loss curves."""
  schemes = {"1/fan_in": jaxinit.variance_scaling(1.0, "fan_in", "normal"),
             "2/fan_in": jaxinit.variance_scaling(2.0, "fan_in", "normal")}
  result = jaxinit.trainability(schemes, "relu", depths=30, widths=width, steps=steps, seeds=seeds,
                                key=jax.random.key(0))
  verdict = result.verdict()[:, 0, 0, 0, 0]
  print(f"He et al. 2015: 30 ReLU layers of width {width}, {steps} steps of SGD (lr 0.01), {seeds} seeds")
  print(f"{'scheme':>9}  {'initial':>8}  {'final':>8}  {'final/baseline':>14}  verdict")
  for k, label in enumerate(result.schemes):
    final = float(np.median(result.train_loss[k]))
    print(f"{label:>9}  {float(np.median(result.initial_loss[k])):8.3f}  {final:8.3f}  "
          f"{final / result.baseline_loss:14.3f}  {verdict[k]}")

  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
  for k, (label, color) in enumerate(zip(result.schemes, ("#3050c0", "#c04030"), strict=True)):
    for s in range(seeds):
      ax.plot(result.curve[k, 0, 0, 0, 0, s] / result.baseline_loss, color=color, alpha=0.7, lw=1,
              label=f"Var W = {label} ({verdict[k]})" if s == 0 else None)
  ax.axhline(0.5, color="grey", ls=":", lw=1, label='"trains" threshold')
  ax.set_yscale("log")
  ax.set_xlabel("SGD step")
  ax.set_ylabel("minibatch loss / baseline")
  ax.set_title("He et al. 2015: 30-layer ReLU MLP", fontsize=10)
  ax.legend(fontsize=8)
  fig.savefig(out / "trainability_he2015.png", dpi=110)
  plt.close(fig)
  return 0 if verdict.tolist() == ["stalls", "trains"] else 1


def schoenholz2017(sw2s, depths, width: int, steps: int, seeds: int, out: Path) -> None:
  """Trains tanh MLPs over sigma_w^2 x depth; draws the heatmap with 6 xi_c and the sweep's stable cells."""
  bias_std = math.sqrt(SIGMA_B2)
  result = jaxinit.trainability(sigma_w2=tuple(sw2s), activations="tanh", depths=depths, widths=width,
                                steps=steps, seeds=seeds, bias_std=bias_std, key=jax.random.key(1))
  sweep = jaxinit.sweep({f"{v:g}": jaxinit.variance_scaling(float(v), "fan_in", "normal") for v in sw2s},
                        ("tanh",), depths=depths, widths=(width,), batch=16, seeds=seeds, bias_std=bias_std,
                        key=jax.random.key(1))
  stable = sweep.verdict()[:, 0, 0, :] == "stable"  # (K, D)
  xi_c = np.asarray([float(theory.depth_scales("tanh", float(v), SIGMA_B2).xi_c) for v in sw2s])
  edge = float(theory.edge_of_chaos("tanh", SIGMA_B2).sigma_w2)
  fine = np.linspace(sw2s[0], sw2s[-1], 241)
  six_xi = 6 * np.asarray([float(theory.depth_scales("tanh", float(v), SIGMA_B2).xi_c) for v in fine])

  verdict = result.verdict()[:, 0, 0, :, 0]  # (K, D)
  deepest = result.trainable_depth()[:, 0, 0, 0]
  print(f"\nSchoenholz et al. 2017: tanh, sigma_b^2 = {SIGMA_B2}, width {width}, {steps} steps, "
        "edge of chaos "
        f"sigma_w^2 = {edge:.3f}")
  print(f"{'sigma_w2':>8}  {'xi_c':>7}  {'6 xi_c':>7}  {'trains to':>9}  verdict by depth " + " ".join(
      f"{d:>3}" for d in depths))
  for k, v in enumerate(sw2s):
    marks = " ".join(f"{'T' if c == 'trains' else 'S' if c == 'stalls' else 'D':>3}" for c in verdict[k])
    print(f"{v:8.3f}  {xi_c[k]:7.2f}  {6 * xi_c[k]:7.1f}  {int(deepest[k]):>9}  {' ' * 16} {marks}")
  print("T trains, S stalls, D diverges")
  result.plot(out / "trainability_heatmap.png", curves={"6 xi_c": (fine, np.minimum(six_xi, 1e4))})
  _side_by_side(result, stable, sw2s, depths, fine, six_xi, edge, out / "trainability.png")


def _side_by_side(result, stable, sw2s, depths, fine, six_xi, edge, path) -> None:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  from matplotlib.collections import LineCollection

  from jaxinit.training._plots import _edges, _outline

  x_edges, y_edges = _edges(np.asarray(sw2s, float)), _edges(np.arange(len(depths), dtype=float))
  depth_pos = np.interp(np.minimum(six_xi, 1e4), depths, np.arange(len(depths)), left=-1.0, right=len(depths))
  with np.errstate(divide="ignore"):
    ratio = np.log10(result.loss_ratio()[:, 0, 0, :, 0]).T  # (D, K)
  ratio = np.ma.masked_invalid(np.where(np.isposinf(ratio), np.nan, ratio))
  fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.4), layout="constrained", sharey=True)
  cmap = plt.get_cmap("viridis_r").with_extremes(bad="black")
  mesh = left.pcolormesh(x_edges, y_edges, np.clip(ratio, -2, 1), cmap=cmap, vmin=-2, vmax=1)
  fig.colorbar(mesh, ax=left, label="log10 final train loss / baseline")
  trains = (result.verdict()[:, 0, 0, :, 0] == "trains").T
  left.add_collection(LineCollection(_outline(trains, x_edges, y_edges), colors="white", linewidths=1.5,
                                     label='"trains"'))
  left.set_title("trained: jaxinit.trainability", fontsize=10)
  right.pcolormesh(x_edges, y_edges, stable.T.astype(float), cmap="Greens", vmin=0, vmax=1.4)
  right.set_title("at initialisation: jaxinit.sweep (green: stable signal)", fontsize=10)
  for ax in (left, right):
    ax.plot(fine, depth_pos, color="#e8432e", lw=2, ls="--", label=r"$6\,\xi_c$ (theory)")
    ax.axvline(edge, color="white" if ax is left else "black", lw=1, ls=":")
    ax.set_xlim(x_edges[0], x_edges[-1])
    ax.set_ylim(y_edges[0], y_edges[-1])
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.legend(loc="upper right", fontsize=8)
  left.set_yticks(np.arange(len(depths)), [str(d) for d in depths])
  left.set_ylabel("depth (hidden layers)")
  fig.suptitle(rf"Schoenholz et al. 2017: tanh, $\sigma_b^2$ = {SIGMA_B2}; dotted: the edge of chaos",
               fontsize=10)
  fig.savefig(path, dpi=110)
  plt.close(fig)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="a small grid (what CI runs)")
  parser.add_argument("--out", default=".", help="folder for the figures (default: cwd)")
  args = parser.parse_args(argv)
  out = Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  if args.quick:
    status = he2015(steps=300, width=32, seeds=1, out=out)
    schoenholz2017(np.linspace(1.0, 4.0, 5), (2, 6, 12, 24), width=16, steps=150, seeds=1, out=out)
  else:
    status = he2015(steps=600, width=64, seeds=4, out=out)
    schoenholz2017(np.linspace(1.0, 4.0, 13), (4, 8, 16, 24, 32, 40, 48, 56, 64, 72, 84, 96), width=64,
                   steps=600, seeds=2, out=out)
  print(f"wrote {out / 'trainability_he2015.png'} and {out / 'trainability.png'}")
  return status


if __name__ == "__main__":
  sys.exit(main())
