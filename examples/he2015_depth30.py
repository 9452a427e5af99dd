"""He et al. 2015, Delving Deep into Rectifiers: ReLU nets 22 and 30 layers deep, Var W = 1/fan_in vs 2/fan_in.

With ReLU, each layer multiplies the signal's second moment by sigma_w^2 / 2: with the
"Xavier" variance 1/fan_in the std after L layers is 2^(-L/2) of the input's (2^-11 at 22 layers,
2^-15 at 30: the 30-layer net of the paper that did not learn), with He's 2/fan_in it stays 1.

Simulated with jaxinit.sweep (schemes as a dict {label: initializer}, i.i.d. Gaussian weights,
no bias) and compared with the mean-field prediction (``SweepResult.theory()``, here exactly
``L log2(sigma_w^2 / 2) / 2``). Writes ``he2015_depth30.png``.

  python examples/he2015_depth30.py            # widths 256 and 1024, 32 seeds
  python examples/he2015_depth30.py --quick    # width 128, 8 seeds
"""

import argparse
import math
import sys
from pathlib import Path

import jax
import numpy as np

import jaxinit

DEPTHS = (22, 30)
SCHEMES = {"1/fan_in": 1.0, "2/fan_in": 2.0}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="a small grid (what CI runs)")
  parser.add_argument("--out", default=".", help="folder for he2015_depth30.png (default: cwd)")
  args = parser.parse_args(argv)
  widths, batch, seeds = ((128,), 16, 8) if args.quick else ((256, 1024), 64, 32)

  schemes = {label: jaxinit.variance_scaling(sw2, "fan_in", "normal") for label, sw2 in SCHEMES.items()}
  result = jaxinit.sweep(schemes, ("relu",), depths=range(1, max(DEPTHS) + 1), widths=widths, batch=batch,
                         seeds=seeds, key=jax.random.key(0))
  # log2 of the std ratio sqrt(M_L / M_0), per (scheme, width, seed, layer)
  log2_std = np.asarray(result.log_m, dtype=float)[:, 0] / (2 * math.log(2.0))
  log2_pred = np.asarray(result.theory().log_m, dtype=float)[:, 0] / (2 * math.log(2.0))  # (scheme, width, layer)

  engines = "/".join(sorted(set(result.engines)))
  print(f"ReLU, no bias, batch {batch}, {seeds} seeds ({engines} engine): std of the signal "
        f"after L layers over the input's, sqrt(M_L / M_0)")
  print(f"{'Var W':>9} {'width':>6} {'L':>3} {'measured':>11} {'predicted':>11} {'log2 meas.':>11} "
        f"{'log2 pred.':>11} {'seed std':>9}")
  for i, label in enumerate(SCHEMES):
    for k, width in enumerate(widths):
      for depth in DEPTHS:
        vals = log2_std[i, k, :, depth - 1]
        mean, pred = float(vals.mean()), float(log2_pred[i, k, depth - 1])
        print(f"{label:>9} {width:>6} {depth:>3} {2.0 ** mean:>11.3e} {2.0 ** pred:>11.3e} {mean:>11.3f} "
              f"{pred:>11.3f} {float(vals.std()):>9.3f}")
  print("He et al.: 1/fan_in leaves 2^-15 = 3.05e-05 of the signal after 30 layers; 2/fan_in keeps it at 1")

  out = Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  path = plot(log2_std, log2_pred, widths, out / "he2015_depth30.png")
  print(f"wrote {path}")
  return 0


def plot(log2_std, log2_pred, widths, path: Path) -> Path:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
  layers = np.arange(1, log2_std.shape[-1] + 1)
  for i, label in enumerate(SCHEMES):
    for k, width in enumerate(widths):
      color = f"C{2 * i + k}"
      vals = log2_std[i, k]
      mean, std = vals.mean(axis=0), vals.std(axis=0)
      ax.fill_between(layers, mean - std, mean + std, color=color, alpha=0.2, lw=0)
      ax.plot(layers, mean, "o", ms=3.5, color=color, label=f"Var W = {label}, width {width}: measured")
    ax.plot(layers, log2_pred[i, 0], color="black", lw=1, ls="--" if i == 0 else "-",
            label=f"Var W = {label}: mean field")
  for depth in DEPTHS:
    ax.axvline(depth, color="grey", lw=0.8, ls=":")
  ax.annotate(r"$2^{-15}$ at 30 layers", (30, -15), xytext=(-110, 10), textcoords="offset points",
              arrowprops=dict(arrowstyle="->", lw=0.8))
  ax.set_xlabel("layer L")
  ax.set_ylabel(r"$\log_2$ std ratio  $\frac{1}{2}\log_2(M_L / M_0)$")
  ax.set_title("He et al. 2015: ReLU signal through depth (band: std over seeds)")
  ax.legend(fontsize=8, loc="lower left")
  ax.grid(alpha=0.3)
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path


if __name__ == "__main__":
  sys.exit(main())
