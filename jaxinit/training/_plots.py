"""The trainability heatmap: final train loss over the baseline, per scheme (or sigma_w^2) and depth."""

from pathlib import Path

import numpy as np

_CMAP = "viridis_r"
_DIVERGED = "black"
_OUTLINE = "#e8432e"
_CLIP = (-2.0, 1.0)  # log10 loss ratio shown from 1/100 of the baseline to 10 x


def _pyplot():
  import matplotlib

  matplotlib.use("Agg", force=False)  # a figure file, never a window
  import matplotlib.pyplot as plt
  return plt


def _edges(values: np.ndarray) -> np.ndarray:
  """Cell edges around sorted centres (midpoints inside, half a step beyond the ends)."""
  values = np.asarray(values, dtype=float)
  if len(values) == 1:
    return np.array([values[0] - 0.5, values[0] + 0.5])
  mids = (values[1:] + values[:-1]) / 2
  return np.concatenate([[2 * values[0] - mids[0]], mids, [2 * values[-1] - mids[-1]]])


def _outline(mask: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> list:
  """Segments on the border of the True cells of ``mask`` (rows y, columns x)."""
  padded = np.pad(mask, 1, constant_values=False)
  segs = []
  for r, c in zip(*np.nonzero(mask), strict=True):
    x0, x1, y0, y1 = x_edges[c], x_edges[c + 1], y_edges[r], y_edges[r + 1]
    if not padded[r, c + 1]:
      segs.append([(x0, y0), (x1, y0)])
    if not padded[r + 2, c + 1]:
      segs.append([(x0, y1), (x1, y1)])
    if not padded[r + 1, c]:
      segs.append([(x0, y0), (x0, y1)])
    if not padded[r + 1, c + 2]:
      segs.append([(x1, y0), (x1, y1)])
  return segs


def heatmap(result, path, *, learning_rate: int = 0, curves: dict | None = None) -> Path:
  """Writes a depth x scheme heatmap of a trainability probe, one panel per activation x width.

  The colour is ``log10`` of the seed-median final train loss over the baseline loss (the
  best constant prediction's), from 1/100 to 10; black cells diverged; the cells whose
  verdict is "trains" are outlined. When every scheme has a known sigma_w^2 (e.g. a
  ``sigma_w2`` grid) the x axis is sigma_w^2 and ``curves`` can be drawn over it.

  Args:
    result: a :class:`jaxinit.TrainabilityResult`.
    path: the image file (format from its suffix).
    learning_rate: index of the learning rate to draw.
    curves: ``{label: (sigma_w2_values, depths)}`` lines drawn on every panel, e.g. the
      ``6 xi_c`` curve of :func:`jaxinit.theory.depth_scales`.

  Returns:
    The path written.

  Raises:
    ValueError: a ``learning_rate`` index out of range, or ``curves`` without a sigma_w^2 axis.
  """
  if not 0 <= learning_rate < len(result.learning_rates):
    raise ValueError(f"heatmap: learning_rate={learning_rate!r} is not an index into "
                     f"{len(result.learning_rates)} "
                     "learning rates")
  sw2 = np.asarray(result.sigma_w2, dtype=float)
  numeric = bool(np.all(np.isfinite(sw2))) and len(set(sw2.tolist())) == len(sw2) and np.all(np.diff(sw2) > 0)
  if curves and not numeric:
    raise ValueError("heatmap: curves need a sigma_w^2 axis: every scheme a distinct variance_scaling, "
                     "in order")
  plt = _pyplot()
  from matplotlib.collections import LineCollection
  from matplotlib.colors import Normalize

  ratio = result.loss_ratio()[..., learning_rate]  # (K, A, W, D)
  verdict = result.verdict()[..., learning_rate]
  xs = sw2 if numeric else np.arange(len(result.schemes), dtype=float)
  x_edges, y_edges = _edges(xs), _edges(np.arange(len(result.depths), dtype=float))
  n_act, n_width = len(result.activations), len(result.widths)
  fig, axes = plt.subplots(n_width, n_act, figsize=(0.8 + 4.2 * n_act, 1.0 + 3.2 * n_width), squeeze=False,
                           layout="constrained")
  cmap = plt.get_cmap(_CMAP).with_extremes(bad=_DIVERGED)
  norm = Normalize(*_CLIP)
  mesh = None
  for w, width in enumerate(result.widths):
    for a, act in enumerate(result.activations):
      ax = axes[w, a]
      with np.errstate(divide="ignore"):
        shown = np.log10(ratio[:, a, w, :].T)  # (D, K)
      shown = np.ma.masked_invalid(np.where(np.isinf(shown) & (shown > 0), np.nan, shown))
      mesh = ax.pcolormesh(x_edges, y_edges, np.clip(shown, *_CLIP), cmap=cmap, norm=norm, shading="flat")
      segs = _outline((verdict[:, a, w, :] == "trains").T, x_edges, y_edges)
      if segs:
        ax.add_collection(LineCollection(segs, colors=_OUTLINE, linewidths=1.8, zorder=3))
      for n, (label, (cx, cy)) in enumerate((curves or {}).items()):
        depth_pos = np.interp(np.asarray(cy, float), result.depths, np.arange(len(result.depths)),
                              left=-1.0, right=len(result.depths))
        ax.plot(np.asarray(cx, float), depth_pos, color=("white", "#f0a030", "#30c0f0")[n % 3], lw=2, ls="--",
                label=label, zorder=4)
      ax.set_xlim(x_edges[0], x_edges[-1])
      ax.set_ylim(y_edges[0], y_edges[-1])
      step = max(1, len(result.depths) // 10)
      ax.set_yticks(np.arange(0, len(result.depths), step), [str(d) for d in result.depths[::step]])
      if not numeric:
        ax.set_xticks(xs, result.schemes, rotation=30, ha="right", fontsize=8)
      ax.set_xlabel(r"$\sigma_w^2$" if numeric else "scheme")
      ax.set_ylabel("depth (hidden layers)")
      ax.set_title(f"{act}, width {width}", fontsize=10)
      if curves:
        ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
  bar = fig.colorbar(mesh, ax=axes, extend="both", shrink=0.9)
  bar.set_label("log10 final train loss / baseline (black: diverged)")
  rate = result.learning_rates[learning_rate]
  rate_text = "" if np.isnan(rate) else f", lr {rate:g}"
  fig.suptitle(f"jaxinit trainability: {result.data_name}, {result.steps} steps of "
               f"{result.optimizer}{rate_text}; "
               "outlined: trains", fontsize=10)
  try:
    from jaxinit.report import save_figure  # at call time: importing jaxinit loads no report code

    return save_figure(fig, path)
  finally:
    plt.close(fig)
