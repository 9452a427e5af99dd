"""muTransfer: under muP the best learning rate stays put as the width grows; under the standard one it moves.

Yang et al., Tensor Programs V, 2022: tune at a small base width, reuse at any width. Here an MLP
(2 tanh hidden layers, LeCun init) learns the teacher regression with plain SGD for a grid of
learning rates at several widths, once in the standard parametrisation and once in muP (readout
init std x sqrt(base / width), per-role learning rates of ``jaxinit.mup.scale_by_width``). Every
learning rate x seed of a width trains in one jitted, vmapped program
(``jaxinit.trainability(..., learning_rate=grid, parametrization=...)``). Prints the best rate
per width and writes ``mup_transfer.png``.

  python examples/mup_transfer.py            # widths 16..1024, 9 rates, 300 steps, 2 seeds
  python examples/mup_transfer.py --quick    # widths 16 and 64, 7 rates, 100 steps
"""

import argparse
import sys
from pathlib import Path

import jax
import numpy as np

import jaxinit


def sweep_rates(parametrization: str, widths, rates, steps: int, seeds: int) -> np.ndarray:
  """Seed-median final train loss (inf where a seed diverged), shape (widths, rates)."""
  base_width = widths[0] if parametrization == "mup" else None
  result = jaxinit.trainability("lecun_normal", "tanh", depths=2, widths=widths, steps=steps, seeds=seeds,
                                batch=32, learning_rate=rates, parametrization=parametrization,
                                base_width=base_width, key=jax.random.key(0))
  loss = np.where(result.diverged_at >= 0, np.inf, result.train_loss)[0, 0, :, 0]  # (W, R, S)
  return np.median(loss, axis=-1)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="a small grid (what CI runs)")
  parser.add_argument("--out", default=".", help="folder for mup_transfer.png (default: cwd)")
  args = parser.parse_args(argv)
  if args.quick:
    widths, rates, steps, seeds = (16, 64), np.logspace(-2.5, 0.5, 7), 100, 1
  else:
    widths, rates, steps, seeds = (16, 64, 256, 1024), np.logspace(-3.0, 1.0, 9), 300, 2
  rates = tuple(float(r) for r in rates)
  losses = {p: sweep_rates(p, widths, rates, steps, seeds) for p in ("standard", "mup")}

  print(f"best SGD learning rate per width (base width {widths[0]} for muP; {steps} steps, {seeds} seed(s))")
  print(f"{'width':>6}  {'standard':>9}  {'muP':>9}")
  for w, width in enumerate(widths):
    best = {p: rates[int(np.argmin(v[w]))] for p, v in losses.items()}
    print(f"{width:>6}  {best['standard']:9.3g}  {best['mup']:9.3g}")

  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.0), sharey=True, layout="constrained")
  colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(widths)))
  for ax, (p, loss) in zip(axes, losses.items(), strict=True):
    for w, width in enumerate(widths):
      shown = np.where(np.isfinite(loss[w]), loss[w], np.nan)
      ax.plot(rates, shown, marker="o", ms=3, color=colors[w], label=f"width {width}")
      best = int(np.argmin(loss[w]))
      ax.plot(rates[best], loss[w, best], marker="*", ms=12, color=colors[w])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("SGD learning rate")
    ax.set_title("standard parametrisation" if p == "standard" else "muP", fontsize=10)
    ax.grid(alpha=0.3)
  axes[0].set_ylabel("final train loss (gaps: diverged)")
  axes[1].legend(fontsize=8)
  fig.suptitle("muTransfer: the optimum (star) moves with width under the standard parametrisation, "
               "not under muP", fontsize=10)
  out = Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  fig.savefig(out / "mup_transfer.png", dpi=110)
  plt.close(fig)
  print(f"wrote {out / 'mup_transfer.png'}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
