"""Schoenholz et al. 2017, Deep Information Propagation: how deep correlations survive in tanh networks.

tanh networks with bias variance sigma_b^2 = 0.05 and weight variance sigma_w^2 / fan_in for sigma_w^2
from 1 to 4. Pairs of independent inputs (c_0 = 0) enter; with depth their correlation c_l
approaches the fixed point c* (1 in the ordered phase, < 1 in the chaotic one) like
|c_l - c*| ~ exp(-l / xi_c), so after a few xi_c layers the network has forgotten how similar its
inputs were. The edge of chaos (sigma_w^2 = 1.761 here) is where xi_c diverges.

Simulated: jaxinit.sweep with one ``variance_scaling(sigma_w2, "fan_in", "normal")`` scheme per
sigma_w^2 (a dict {label: initializer}), ``bias_std = sqrt(0.05)``, ``input_correlation = 0``.
Theory: ``theory.depth_scales`` (xi_c), ``theory.fixed_point`` (c*) and the mean-field c-map
(``SweepResult.theory()``). Printed side by side: xi_c from theory and fitted to the simulated
|c_l - c*|, and the depth at which the correlation is lost (|c_l - c*| below e^-3 of its value after
layer 1, about 3 xi_c). Writes ``edge_of_chaos.png``.

  python examples/edge_of_chaos.py            # 13 values of sigma_w^2, width 512, depth 300
  python examples/edge_of_chaos.py --quick    # 5 values, width 128, depth 40
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
INPUT_CORRELATION = 0.9
LOST = math.exp(-3.0)  # "lost": the gap to c* is below e^-3 of its value after the first layer


def lost_depth(gap: np.ndarray) -> int | None:
  """First layer (1-based) where gap < LOST * gap[0]; None if never within the simulated depth."""
  below = np.nonzero(gap < LOST * gap[0])[0]
  return int(below[0]) + 1 if below.size else None


def fitted_xi(gap: np.ndarray) -> float:
  """-1 / slope of log(gap) against layer, fitted from the first e-fold to the loss threshold.

  Skipping the first e-fold leaves out the nonlinear transient: xi_c is the rate near c*.
  Falls back to every layer above the threshold when that window holds fewer than 3 layers.
  """
  layers = np.arange(len(gap))
  above = gap >= LOST * gap[0]
  stop = int(np.argmin(above)) if not above.all() else len(gap)  # layers before the first loss
  window = (layers < stop) & (gap <= math.exp(-1.0) * gap[0])
  if window.sum() < 3:
    window = (layers < max(stop, 3))
  with np.errstate(divide="ignore"):
    log_gap = np.log(gap)
  window &= np.isfinite(log_gap)
  if window.sum() < 2:
    return float("nan")
  slope = np.polyfit(layers[window], log_gap[window], 1)[0]
  return float(-1.0 / slope) if slope < 0 else float("inf")


def _fmt(x) -> str:
  if x is None:
    return "-"
  return f"{x:.3g}" if math.isfinite(x) else ("inf" if x > 0 else "nan")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="a small grid (what CI runs)")
  parser.add_argument("--out", default=".", help="folder for edge_of_chaos.png (default: cwd)")
  args = parser.parse_args(argv)
  if args.quick:
    sw2s, width, depth, batch, seeds, curve_points = np.linspace(1.0, 4.0, 5), 256, 40, 16, 16, 7
  else:
    sw2s, width, depth, batch, seeds, curve_points = np.linspace(1.0, 4.0, 13), 512, 300, 32, 16, 121

  schemes = {f"{v:.3f}": jaxinit.variance_scaling(float(v), "fan_in", "normal") for v in sw2s}
  # Gaussian weights: at width >= 16 x batch "auto" samples X W exactly instead of drawing W
  result = jaxinit.sweep(schemes, ("tanh",), depths=(depth,), widths=(width,), batch=batch, seeds=seeds,
                         bias_std=math.sqrt(SIGMA_B2), input_correlation=INPUT_CORRELATION, key=jax.random.key(0))
  c_sim = np.asarray(result.corr, dtype=float)[:, 0, 0].mean(axis=1)  # (sigma_w2, layer)
  c_mf = np.asarray(result.theory().corr, dtype=float)[:, 0, 0]
  c_star = np.asarray(theory.fixed_point("tanh", sw2s, SIGMA_B2).c_star, dtype=float)
  grid = np.linspace(1.0, 4.0, curve_points)  # for the xi_c curve; one theory call covers both
  xi_all = np.asarray(theory.depth_scales("tanh", np.concatenate([sw2s, grid]), SIGMA_B2).xi_c, dtype=float)
  xi_c, xi_curve = xi_all[:len(sw2s)], xi_all[len(sw2s):]
  chi1 = np.asarray(theory.chi1("tanh", sw2s, SIGMA_B2), dtype=float)
  edge = float(theory.edge_of_chaos("tanh", SIGMA_B2).sigma_w2)

  print(f"tanh, sigma_b^2 = {SIGMA_B2}, c_0 = {INPUT_CORRELATION}: width {width}, depth {depth}, batch {batch}, "
        f"{seeds} seeds ({result.engines[0]} engine); edge of chaos at sigma_w^2 = {edge:.4f}")
  print(f"correlation lost: |c_l - c*| < e^-3 |c_1 - c*| (about 3 xi_c); '-' = not within {depth} layers")
  head = ("sigma_w2", "chi_1", "c*", "xi_c theory", "xi_c fit mf", "xi_c fit sim", "lost mf", "lost sim")
  print("  ".join(f"{h:>12}" for h in head))
  rows = []
  for k, v in enumerate(sw2s):
    gap_sim, gap_mf = np.abs(c_sim[k] - c_star[k]), np.abs(c_mf[k] - c_star[k])
    row = (float(v), chi1[k], c_star[k], xi_c[k], fitted_xi(gap_mf), fitted_xi(gap_sim),
           lost_depth(gap_mf), lost_depth(gap_sim))
    rows.append(row)
    print("  ".join(f"{_fmt(x):>12}" for x in row))

  out = Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  path = plot(sw2s, c_sim, c_mf, c_star, rows, grid, xi_curve, edge, depth, out / "edge_of_chaos.png")
  print(f"wrote {path}")
  return 0


def plot(sw2s, c_sim, c_mf, c_star, rows, grid, xi_curve, edge, depth, path: Path) -> Path:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
  layers = np.arange(1, c_sim.shape[1] + 1)
  cmap = plt.get_cmap("viridis")
  for k, v in enumerate(sw2s):
    color = cmap(0.9 * (v - sw2s[0]) / (sw2s[-1] - sw2s[0]))
    left.semilogy(layers, np.abs(c_mf[k] - c_star[k]), color=color, lw=1.5, label=f"$\\sigma_w^2$ = {v:.2f}")
    step = max(1, len(layers) // 40)
    left.semilogy(layers[::step], np.abs(c_sim[k] - c_star[k])[::step], "o", color=color, ms=3)
  left.set_ylim(1e-5, 2.0)  # the mean-field gap keeps shrinking; the simulated one stops at its noise floor
  left.set_xlabel("layer l")
  left.set_ylabel(r"$|c_l - c^*|$")
  left.set_title("correlation gap: simulated (dots) vs mean-field c-map (lines)")
  left.legend(fontsize=8, ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.13))
  left.grid(alpha=0.3)

  ok = np.isfinite(xi_curve)
  right.semilogy(grid[ok], xi_curve[ok], color="#3050c0", lw=1.8, label=r"$\xi_c$ theory")
  right.semilogy(grid[ok], 3 * xi_curve[ok], color="#c04030", lw=1.2, ls="--", label=r"$3\,\xi_c$")
  fit = np.asarray([r[5] for r in rows], dtype=float)
  lost = np.asarray([np.nan if r[7] is None else r[7] for r in rows], dtype=float)
  right.semilogy(sw2s, fit, "o", color="#3050c0", mfc="none", label=r"$\xi_c$ fitted to simulation")
  right.semilogy(sw2s, lost, "s", color="#c04030", mfc="none", label="depth where correlation is lost (sim)")
  right.axvline(edge, color="black", lw=1)
  right.axhline(depth, color="grey", lw=0.8, ls=":")
  right.text(grid[0], depth, " simulated depth", va="bottom", fontsize=8, color="grey")
  from matplotlib.ticker import FormatStrFormatter

  right.yaxis.set_major_formatter(FormatStrFormatter("%g"))
  right.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
  right.set_xlabel(r"$\sigma_w^2$")
  right.set_ylabel("layers")
  right.set_title(f"depth scales (edge of chaos at $\\sigma_w^2$ = {edge:.3f})")
  right.legend(fontsize=8, loc="upper right")
  right.grid(alpha=0.3)
  fig.suptitle(rf"tanh, $\sigma_b^2$ = {SIGMA_B2}: Schoenholz et al. 2017", fontsize=11)
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path


if __name__ == "__main__":
  sys.exit(main())
