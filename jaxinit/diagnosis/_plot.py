"""Diagnosis.plot: forward and gradient scale per layer, warned layers marked; matplotlib's Agg backend."""

from pathlib import Path

import numpy as np


def _pyplot():
  import matplotlib

  matplotlib.use("Agg", force=False)  # a figure file, never a window
  import matplotlib.pyplot as plt
  return plt


def _series(values) -> np.ndarray:
  """Values as floats; zeros and missing values become nan (a log axis cannot show them)."""
  out = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
  out[~(out > 0)] = np.nan
  return out


def plot(diagnosis, path, title: str | None = None) -> Path:
  """Draws the diagnosis to ``path`` (written atomically); see :meth:`Diagnosis.plot`."""
  plt = _pyplot()
  rows = diagnosis.rows
  x = np.arange(1, len(rows) + 1)
  warned = {w.path for w in diagnosis.warnings}
  marked = np.array([r.path in warned for r in rows], dtype=bool)
  fig, axes = plt.subplots(2, 1, figsize=(max(6.0, 0.35 * len(rows) + 2.0), 6.5), sharex=True,
                           layout="constrained")
  for ax, field, label in ((axes[0], "out_rms", "forward scale: output rms"),
                           (axes[1], "grad_out_std", "gradient scale: std of d loss / d output")):
    values = _series(getattr(r, field) for r in rows)
    ax.semilogy(x, values, "o-", color="#3b6fb6", markersize=4, label=label)
    if marked.any():
      ax.semilogy(x[marked], values[marked], "o", color="#d62728", markersize=8, fillstyle="none",
                  markeredgewidth=2, label="warned layer")
    ax.set_ylabel(label.split(":")[0])
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
  axes[1].set_xticks(x, [r.path for r in rows], rotation=60, ha="right", fontsize=7)
  axes[1].set_xlabel("layer (execution order)")
  fig.suptitle(title or f"jaxinit.diagnose: {len(rows)} layers, {len(diagnosis.warnings)} warnings", fontsize=11)
  from jaxinit.report import save_figure  # at call time: importing jaxinit loads no report code

  try:
    return save_figure(fig, path)
  finally:
    plt.close(fig)
