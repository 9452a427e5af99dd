"""Figures for sweeps and for the mean-field phase diagram, drawn with matplotlib's Agg backend (no display).

Every figure is written atomically (`write_atomically`).
"""

from pathlib import Path

import numpy as np

from jaxinit.report._atomic import save_figure

CLIP_LOG10 = 6.0  # the colour scale saturates at a 10^6 ratio either way
_CMAP = "coolwarm"  # its ends stay coloured, so black can only mean non-finite
_NON_FINITE = "black"
_OUTLINE = "#1a9e3f"
_HATCH = "#d0d0d0"
_COLLAPSED = "#404040"
_METRICS = {"forward": ("forward_log10", "log10 forward ratio  M_D / M_0"),
            "gradient": ("gradient_log10", "log10 gradient ratio  (layer 1 / layer D)")}


def _pyplot():
  import matplotlib

  matplotlib.use("Agg", force=False)  # a figure file, never a window
  import matplotlib.pyplot as plt
  return plt


def _save(plt, fig, path) -> Path:
  """Writes ``fig`` to ``path`` atomically, in the format its suffix names (png without one); closes it."""
  try:
    return save_figure(fig, path)
  finally:
    plt.close(fig)


def _edges(values: np.ndarray) -> tuple[np.ndarray, bool]:
  """Cell edges for sorted coordinates; evenly spaced ones keep their values, others become 0..n-1."""
  values = np.asarray(values, dtype=float)
  even = len(values) < 3 or np.allclose(np.diff(values), values[1] - values[0])
  pos = values if even else np.arange(len(values), dtype=float)
  step = pos[1] - pos[0] if len(pos) > 1 else 1.0
  mids = (pos[1:] + pos[:-1]) / 2
  return np.concatenate([[pos[0] - step / 2], mids, [pos[-1] + step / 2]]), even


def _outline(stable: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> list:
  """Segments along the border of the stable cells (rows: y, cols: x), on cell boundaries."""
  padded = np.pad(stable, 1, constant_values=False)
  segs = []
  rows, cols = np.nonzero(stable)
  for r, c in zip(rows, cols, strict=True):
    x0, x1, y0, y1 = x_edges[c], x_edges[c + 1], y_edges[r], y_edges[r + 1]
    if not padded[r, c + 1]:  # below
      segs.append([(x0, y0), (x1, y0)])
    if not padded[r + 2, c + 1]:  # above
      segs.append([(x0, y1), (x1, y1)])
    if not padded[r + 1, c]:  # left
      segs.append([(x0, y0), (x0, y1)])
    if not padded[r + 1, c + 2]:  # right
      segs.append([(x1, y0), (x1, y1)])
  return segs


def _mark_cells(ax, line_collection, x_edges, y_edges, clipped, no_signal, collapsed, stable) -> None:
  """Hatches a panel's no-signal and collapsed cells and outlines its stable region."""
  if no_signal.any():
    ax.pcolor(x_edges, y_edges, np.ma.masked_array(clipped, mask=~no_signal), facecolor="none",
              hatch="////", hatchcolor=_HATCH, linewidth=0)
  if collapsed.any():
    ax.pcolor(x_edges, y_edges, np.ma.masked_array(clipped, mask=~collapsed), facecolor="none",
              hatch="..", hatchcolor=_COLLAPSED, linewidth=0)
  segs = _outline(stable, x_edges, y_edges)
  if segs:
    ax.add_collection(line_collection(segs, colors=_OUTLINE, linewidths=2.0, zorder=3, clip_on=False))


def _legend_handles(plt, patch, non_finite: bool, no_signal: bool, collapsed: bool) -> list:
  handles = [patch(facecolor="none", edgecolor=_OUTLINE, linewidth=1.8, label="stable")]
  if non_finite:
    handles.append(patch(facecolor=_NON_FINITE, label="non-finite"))
  if no_signal:
    handles.append(patch(facecolor=plt.get_cmap(_CMAP)(0.0), hatch="////", edgecolor=_HATCH,
                         label="no signal (0 / 0)"))
  if collapsed:
    handles.append(patch(facecolor="white", hatch="..", edgecolor=_COLLAPSED, label="collapsed"))
  return handles


def heatmaps(result, path, metric: str = "forward") -> Path:
  """Writes a depth x width heatmap of a sweep's log10 ratio, one panel per scheme x activation.

  Rows are schemes, columns activations. The colour is the seed-averaged ``log10`` of
  the forward ratio ``M_D / M_0`` (``metric="forward"``) or of the gradient ratio
  (``"gradient"``) on one diverging scale centred on 0 and clipped to +-6. Black cells
  are non-finite; hatched ones carry no signal at all (a 0 / 0 ratio, e.g. zero
  weights); dotted ones are collapsed (identical units or inputs, whatever the ratio);
  the stable region (``result.verdict() == "stable"``) is outlined.

  Args:
    result: a :class:`jaxinit.SweepResult`.
    path: the image file to write (the format follows its suffix, e.g. ``.png``).
    metric: ``"forward"`` or ``"gradient"``.

  Returns:
    The path written.

  Raises:
    ValueError: an unknown ``metric``.
  """
  if metric not in _METRICS:
    raise ValueError(f"heatmaps: metric={metric!r} must be one of {', '.join(_METRICS)}")
  plt = _pyplot()
  from matplotlib.collections import LineCollection
  from matplotlib.colors import Normalize
  from matplotlib.patches import Patch

  method, label = _METRICS[metric]
  with np.errstate(invalid="ignore"):
    values = np.asarray(getattr(result, method)(), dtype=float)  # (K, A, W, D)
  verdict = result.verdict()
  non_finite = verdict == "non-finite"
  # a nan ratio from a network that stayed finite is 0 / 0: no signal at all (e.g. zero weights)
  no_signal = np.isnan(values) & ~non_finite
  collapsed = (verdict == "collapsed") & ~no_signal
  clipped = np.clip(np.where(no_signal, -CLIP_LOG10, np.nan_to_num(values, nan=0.0)), -CLIP_LOG10, CLIP_LOG10)
  shown = np.ma.masked_array(clipped, mask=non_finite)

  depths, widths = np.asarray(result.depths), np.asarray(result.widths)
  x_edges, x_even = _edges(depths)
  y_edges = np.arange(len(widths) + 1, dtype=float) - 0.5
  n_rows, n_cols = len(result.schemes), len(result.activations)
  cmap = plt.get_cmap(_CMAP).with_extremes(bad=_NON_FINITE)
  norm = Normalize(-CLIP_LOG10, CLIP_LOG10)

  fig, axes = plt.subplots(n_rows, n_cols, figsize=(0.6 + 3.6 * n_cols, 0.9 + 2.0 * n_rows), squeeze=False,
                           sharex=True, sharey=True, layout="constrained")
  mesh = None
  for i, scheme in enumerate(result.schemes):
    for j, act in enumerate(result.activations):
      ax = axes[i, j]
      mesh = ax.pcolormesh(x_edges, y_edges, shown[i, j], cmap=cmap, norm=norm, shading="flat")
      _mark_cells(ax, LineCollection, x_edges, y_edges, clipped[i, j], no_signal[i, j], collapsed[i, j],
                  verdict[i, j] == "stable")
      ax.set_title(f"{scheme} / {act}", fontsize=10)
      ax.set_yticks(np.arange(len(widths)), [str(w) for w in widths])
      if not x_even:
        step = max(1, len(depths) // 8)
        ax.set_xticks(np.arange(0, len(depths), step), [str(d) for d in depths[::step]])
      if j == 0:
        ax.set_ylabel("width")
      if i == n_rows - 1:
        ax.set_xlabel("depth")
  bar = fig.colorbar(mesh, ax=axes, extend="both", shrink=min(1.0, 0.35 + 0.15 * n_rows), pad=0.02)
  bar.set_label(label)
  handles = _legend_handles(plt, Patch, non_finite.any(), no_signal.any(), collapsed.any())
  fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9, frameon=False)
  fig.suptitle(f"jaxinit sweep: {label} ({result.architecture}, batch {result.batch}, "
               f"{result.seeds} seeds, bias std {result.bias_std:g}"
               + (", interrupted" if result.interrupted else "") + ")", fontsize=11)
  return _save(plt, fig, path)


def phase_diagram(sigma_w2, chi1, xi_c, edge_sigma_w2: float, path, *, activation: str,
                  sigma_b2: float) -> Path:
  """Writes chi_1 and the correlation depth scale xi_c against sigma_w^2, with the edge of chaos.

  Args:
    sigma_w2: the weight variances (x axis), sorted.
    chi1: chi_1 at each.
    xi_c: the correlation depth scale at each (inf at the edge).
    edge_sigma_w2: the critical sigma_w^2 (nan if none).
    path: the image file to write.
    activation: its name, for the title.
    sigma_b2: the bias variance, for the title.

  Returns:
    The path written.
  """
  plt = _pyplot()
  sw2, chi1, xi_c = (np.asarray(a, dtype=float) for a in (sigma_w2, chi1, xi_c))
  fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.0, 6.4), sharex=True, layout="constrained")
  top.plot(sw2, chi1, color="#3050c0", lw=2)
  top.axhline(1.0, color="grey", lw=0.8, ls=":")
  top.set_ylabel(r"$\chi_1$")
  finite = np.isfinite(xi_c) & (xi_c > 0)
  bottom.plot(sw2[finite], xi_c[finite], color="#3050c0", lw=2, label=r"$\xi_c$")
  bottom.plot(sw2[finite], 6 * xi_c[finite], color="#c04030", lw=1.5, ls="--",
              label=r"$6\,\xi_c$: trainable depth")
  bottom.set_yscale("log")
  if not finite.all():  # say why part of the panel is empty
    bottom.text(0.98, 0.04, r"no curve: $\xi_c = \infty$ (at the edge, or where q* diverges)",
                transform=bottom.transAxes, ha="right", va="bottom", fontsize=8, color="#606060")
  bottom.set_xlabel(r"$\sigma_w^2$")
  bottom.set_ylabel("depth (layers)")
  for ax in (top, bottom):
    if np.isfinite(edge_sigma_w2):
      ax.axvline(edge_sigma_w2, color="black", lw=1.2)
      lo, hi = sw2[0], sw2[-1]
      if lo < edge_sigma_w2:
        ax.axvspan(lo, min(edge_sigma_w2, hi), color="#3050c0", alpha=0.06, lw=0)
      if edge_sigma_w2 < hi:
        ax.axvspan(max(edge_sigma_w2, lo), hi, color="#c04030", alpha=0.06, lw=0)
    ax.grid(alpha=0.3)
  if np.isfinite(edge_sigma_w2) and sw2[0] <= edge_sigma_w2 <= sw2[-1]:
    top.annotate(f"edge of chaos\n$\\sigma_w^2$ = {edge_sigma_w2:.3f}", (edge_sigma_w2, 1.0),
                 xytext=(8, 12), textcoords="offset points", fontsize=9)
    from matplotlib.transforms import blended_transform_factory

    at_top = blended_transform_factory(top.transData, top.transAxes)
    label = dict(va="top", fontsize=9, transform=at_top)
    top.text(edge_sigma_w2, 0.96, "ordered  ", ha="right", color="#3050c0", **label)
    top.text(edge_sigma_w2, 0.96, "  chaotic", ha="left", color="#c04030", **label)
  bottom.legend(loc="upper right", fontsize=9)
  fig.suptitle(f"{activation}: mean-field phase diagram at $\\sigma_b^2$ = {sigma_b2:g}", fontsize=11)
  return _save(plt, fig, path)
