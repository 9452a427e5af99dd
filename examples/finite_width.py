"""Finite width: the log-norm of a ReLU net's output fluctuates with variance 5 sum(1 / N_l), not 0.

For ReLU at He init with Gaussian weights, M_l = |x^l|^2 / N_l changes per layer by an
independent factor (2 / N_l) chi^2_K, K ~ Binomial(N_l, 1/2), so log(M_L / M_0) is about normal
with mean -5 beta / 2 and variance 5 beta, beta = sum_l 1 / N_l (Hanin & Nica 2019). Mean-field
theory (infinite width) predicts 0 for both: depth over width, not depth alone, sets how far one
network strays.

Simulated: jaxinit.sweep with ``variance_scaling(2, "fan_in", "normal")``, relu, batch 2, many seeds
and every weight drawn (``engine="dense"``); ``result.log_norm0`` at depth L is log(M_L / M_0) of one input per network, and its mean and
variance across seeds are compared with ``theory.relu_log_norm_moments`` (asymptotic and exact).
Writes ``finite_width.png``.

  python examples/finite_width.py            # widths 8..256, depth 32, 2000 seeds
  python examples/finite_width.py --quick    # widths 16 and 64, depth 16, 256 seeds
"""

import argparse
import sys
from pathlib import Path

import jax
import numpy as np

import jaxinit
from jaxinit import theory


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="a small grid (what CI runs)")
  parser.add_argument("--out", default=".", help="folder for finite_width.png (default: cwd)")
  args = parser.parse_args(argv)
  widths, depth, seeds = ((16, 64), 16, 256) if args.quick else ((8, 16, 32, 64, 128, 256), 32, 2000)

  # engine="dense" draws every weight: the tails of log(M_L / M_0) (a layer with one or no unit on) are the point here
  result = jaxinit.sweep({"he (gaussian)": jaxinit.variance_scaling(2.0, "fan_in", "normal")}, ("relu",),
                         depths=(depth,), widths=widths, batch=2, seeds=seeds, key=jax.random.key(0), engine="dense")
  log_norm = np.asarray(result.log_norm0, dtype=float)[0, 0, :, :, depth - 1]  # (width, seed)

  engines = "/".join(sorted(set(result.engines)))
  print(f"ReLU, He init (Gaussian), depth {depth}, {seeds} seeds ({engines} engine): "
        f"log(M_L / M_0) of one input")
  print(f"{'width':>6} {'beta':>7} {'mean sim':>9} {'-5b/2':>8} {'exact':>8} {'var sim':>9} {'5b':>8} {'exact':>8} "
        f"{'dead':>5}")
  rows = []
  for k, width in enumerate(widths):
    vals = log_norm[k]
    finite = np.isfinite(vals)  # a layer with every unit off leaves -inf (probability 2^-N per layer)
    vals = vals[finite]
    beta = depth / width
    asym = theory.relu_log_norm_moments([width] * depth)
    exact = theory.relu_log_norm_moments([width] * depth, exact=True)
    row = dict(width=width, beta=beta, mean=float(vals.mean()), var=float(vals.var(ddof=1)),
               mean_asym=float(asym.mean), var_asym=float(asym.var), mean_exact=float(exact.mean),
               var_exact=float(exact.var), dead=int((~finite).sum()))
    rows.append(row)
    print(f"{width:>6} {beta:>7.3f} {row['mean']:>9.3f} {row['mean_asym']:>8.3f} {row['mean_exact']:>8.3f} "
          f"{row['var']:>9.3f} {row['var_asym']:>8.3f} {row['var_exact']:>8.3f} {row['dead']:>5}")
  print("mean-field theory (infinite width): mean 0, variance 0 at every width")

  out = Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  path = plot(rows, depth, seeds, out / "finite_width.png")
  print(f"wrote {path}")
  return 0


def plot(rows, depth, seeds, path: Path) -> Path:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  beta = np.asarray([r["beta"] for r in rows])
  fine = np.geomspace(beta.min() / 1.5, beta.max() * 1.5, 100)
  fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
  left.loglog(fine, 5 * fine, color="black", lw=1, label=r"$5\beta$ (asymptotic)")
  left.loglog(beta, [r["var_exact"] for r in rows], "s", color="C1", mfc="none", label="exact law")
  # the sample variance of roughly normal values has relative std sqrt(2 / (seeds - 1))
  err = np.asarray([r["var"] for r in rows]) * np.sqrt(2.0 / (seeds - 1))
  left.errorbar(beta, [r["var"] for r in rows], yerr=err, fmt="o", color="C0", label="simulated")
  left.set_xlabel(r"$\beta = \sum_l 1/N_l$ = depth / width")
  left.set_ylabel(r"Var log($M_L / M_0$) across seeds")
  left.set_title("variance")
  left.legend(fontsize=8)
  right.semilogx(fine, -2.5 * fine, color="black", lw=1, label=r"$-5\beta/2$ (asymptotic)")
  right.semilogx(beta, [r["mean_exact"] for r in rows], "s", color="C1", mfc="none", label="exact law")
  right.semilogx(beta, [r["mean"] for r in rows], "o", color="C0", label="simulated")
  right.axhline(0.0, color="grey", lw=0.8, ls=":", label="mean field")
  right.set_xlabel(r"$\beta$")
  right.set_ylabel(r"mean log($M_L / M_0$)")
  right.set_title("mean")
  right.legend(fontsize=8)
  from matplotlib.ticker import FormatStrFormatter, NullFormatter

  for axis in (left.xaxis, left.yaxis, right.xaxis):
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_formatter(NullFormatter())
  for ax, r in ((left, rows), (right, rows)):
    for row in r:
      ax.annotate(f"N={row['width']}", (row["beta"], row["var"] if ax is left else row["mean"]),
                  xytext=(4, -10), textcoords="offset points", fontsize=7, color="C0")
    ax.grid(alpha=0.3, which="both")
  fig.suptitle(f"ReLU at He init, depth {depth}: log-norm fluctuations grow with depth / width (Hanin & Nica 2019)",
               fontsize=11)
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path


if __name__ == "__main__":
  sys.exit(main())
