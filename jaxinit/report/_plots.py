"""Figures for sweeps and for the mean-field phase diagram, drawn with matplotlib's Agg backend (no display).

Every figure is written atomically (`write_atomically`).
"""

from pathlib import Path

import numpy as np

from jaxinit.report import _tables
from jaxinit.report._atomic import save_figure

CLIP_LOG10 = 6.0  # the colour scale saturates at a 10^6 ratio either way
_CMAP = "coolwarm"  # its ends stay coloured, so black can only mean non-finite
_NON_FINITE = "black"
_OUTLINE = "#1a9e3f"
_HATCH = "#d0d0d0"
_COLLAPSED = "#404040"
_METRICS = {"forward": ("forward_log10", "log10 forward ratio  M_D / M_0"),
            "gradient": ("gradient_log10", "log10 gradient ratio  (layer 1 / layer D)")}


def _edges(values: np.ndarray) -> tuple[np.ndarray, bool]:
  """Cell edges for sorted coordinates; evenly spaced ones keep their values, others become 0..n-1."""
  values = np.asarray(values, dtype=float)
  even = len(values) < 3 or np.allclose(np.diff(values), values[1] - values[0])
  pos = values if even else np.arange(len(values), dtype=float)
  step = pos[1] - pos[0] if len(pos) > 1 else 1.0
  mids = (pos[1:] + pos[:-1]) / 2
  return np.concatenate([[pos[0] - step / 2], mids, [pos[-1] + step / 2]]), even


def _outline(stable: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
  """Segments (n, 2, 2) along the border of the stable cells (rows: y, cols: x), on cell boundaries."""
  padded = np.pad(stable, 1, constant_values=False)
  inside = padded[1:-1, 1:-1]
  segs = []
  # a horizontal edge below row r where the cell and the one below differ; likewise above, left, right
  for d_row, d_col, horizontal, far in ((-1, 0, True, False), (1, 0, True, True), (0, -1, False, False),
                                        (0, 1, False, True)):
    neighbour = padded[1 + d_row:padded.shape[0] - 1 + d_row, 1 + d_col:padded.shape[1] - 1 + d_col]
    rows, cols = np.nonzero(inside & ~neighbour)
    if horizontal:
      y = y_edges[rows + far]
      segs.append(np.stack([np.stack([x_edges[cols], y], -1), np.stack([x_edges[cols + 1], y], -1)], 1))
    else:
      x = x_edges[cols + far]
      segs.append(np.stack([np.stack([x, y_edges[rows]], -1), np.stack([x, y_edges[rows + 1]], -1)], 1))
  return np.concatenate(segs) if segs else np.zeros((0, 2, 2))


def _points(mask: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray, per_cell: int = 1):
  """Marker positions in the cells of ``mask``: ``per_cell`` of them, stacked up each cell's middle."""
  rows, cols = np.nonzero(mask)
  x = (x_edges[cols] + x_edges[cols + 1]) / 2
  y0, y1 = y_edges[rows], y_edges[rows + 1]
  at = (np.arange(per_cell) + 0.5) / per_cell
  return np.repeat(x, per_cell), (y0[:, None] + (y1 - y0)[:, None] * at).reshape(-1)


def _figure(width: float, height: float):
  """A matplotlib Figure on the Agg canvas, without pyplot's global state."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  fig = Figure(figsize=(width, height))
  FigureCanvasAgg(fig)
  return fig


def _legend_handles(cmap, non_finite: bool, no_signal: bool, collapsed: bool) -> list:
  from matplotlib.lines import Line2D
  from matplotlib.patches import Patch

  handles = [Patch(facecolor="none", edgecolor=_OUTLINE, linewidth=1.8, label="stable")]
  if non_finite:
    handles.append(Patch(facecolor=_NON_FINITE, label="non-finite"))
  if no_signal:
    handles.append(Line2D([], [], marker=_NO_SIGNAL_MARK, markersize=6, linestyle="none", color=_HATCH,
                          markerfacecolor=cmap(0.0), label="no signal (0 / 0)"))
  if collapsed:
    handles.append(Line2D([], [], marker="o", markersize=2.5, linestyle="none", color=_COLLAPSED,
                          label="collapsed"))
  return handles


# margins of a heatmap figure, in inches: room for labels, the title, the colour bar and the legend
_LEFT, _RIGHT, _TOP, _BOTTOM, _PANEL_W, _PANEL_H = 0.75, 1.15, 0.55, 0.85, 3.4, 1.75
_NO_SIGNAL_MARK = (2, 0, 45)  # a short diagonal stroke per cell: hatching at the cost of a marker


def heatmaps(result, path, metric: str = "forward") -> Path:
  """Writes a depth x width heatmap of a sweep's log10 ratio, one panel per scheme x activation.

  Rows are schemes, columns activations. The colour is the seed-averaged ``log10`` of
  the forward ratio ``M_D / M_0`` (``metric="forward"``) or of the gradient ratio
  (``"gradient"``) on one diverging scale centred on 0 and clipped to +-6. Black cells
  are non-finite; struck-through ones carry no signal at all (a 0 / 0 ratio, e.g. zero
  weights); dotted ones are collapsed (identical units or inputs, whatever the ratio);
  the stable region (``result.verdict() == "stable"``) is outlined. Each panel is one
  image, its marks one collection each, on a fixed layout: a figure of 15 panels draws
  in a fraction of a second.

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
  import matplotlib
  from matplotlib.collections import LineCollection
  from matplotlib.colors import Normalize

  method, label = _METRICS[metric]
  with np.errstate(invalid="ignore"):
    values = np.asarray(getattr(result, method)(), dtype=float)  # (K, A, W, D)
  verdict = result.verdict()
  non_finite = verdict == "non-finite"
  # a nan ratio from a network that stayed finite is 0 / 0: no signal at all (e.g. zero weights)
  no_signal = np.isnan(values) & ~non_finite
  collapsed = (verdict == "collapsed") & ~no_signal
  clipped = np.clip(np.where(no_signal, -CLIP_LOG10, np.nan_to_num(values, nan=0.0)), -CLIP_LOG10, CLIP_LOG10)
  shown = np.where(non_finite, np.nan, clipped)

  depths, widths = np.asarray(result.depths), np.asarray(result.widths)
  x_edges, x_even = _edges(depths)
  y_edges = np.arange(len(widths) + 1, dtype=float) - 0.5
  n_rows, n_cols = len(result.schemes), len(result.activations)
  cmap = matplotlib.colormaps[_CMAP].with_extremes(bad=_NON_FINITE)
  norm = Normalize(-CLIP_LOG10, CLIP_LOG10)

  width_in = _LEFT + _RIGHT + _PANEL_W * n_cols
  height_in = _TOP + _BOTTOM + _PANEL_H * n_rows
  fig = _figure(width_in, height_in)
  axes = fig.subplots(n_rows, n_cols, squeeze=False, gridspec_kw=dict(
      left=_LEFT / width_in, right=1 - _RIGHT / width_in, bottom=_BOTTOM / height_in,
      top=1 - _TOP / height_in,
      wspace=0.06, hspace=0.32 * _PANEL_H / (_PANEL_H - 0.3)))
  extent = (x_edges[0], x_edges[-1], y_edges[0], y_edges[-1])
  image = None
  for i, scheme in enumerate(result.schemes):
    for j, act in enumerate(result.activations):
      ax = axes[i, j]
      image = ax.imshow(shown[i, j], cmap=cmap, norm=norm, origin="lower", aspect="auto", extent=extent,
                        interpolation="nearest")
      if no_signal[i, j].any():
        ax.scatter(*_points(no_signal[i, j], x_edges, y_edges, 2), marker=_NO_SIGNAL_MARK, s=14, c=_HATCH,
                   linewidths=0.8)
      if collapsed[i, j].any():
        ax.scatter(*_points(collapsed[i, j], x_edges, y_edges, 4), marker="o", s=1.0, c=_COLLAPSED,
                   linewidths=0)
      segs = _outline(verdict[i, j] == "stable", x_edges, y_edges)
      if len(segs):
        ax.add_collection(LineCollection(segs, colors=_OUTLINE, linewidths=2.0, zorder=3, clip_on=False))
      ax.set_title(f"{scheme} / {act}", fontsize=10, y=1.0, pad=3)  # a fixed place: no layout pass
      _ticks(ax, depths, x_even, widths, bottom=i == n_rows - 1, left=j == 0)
  bar_axes = fig.add_axes((1 - (_RIGHT - 0.25) / width_in, _BOTTOM / height_in, 0.18 / width_in,
                           1 - (_TOP + _BOTTOM) / height_in))
  bar = fig.colorbar(image, cax=bar_axes, extend="both")
  bar.set_label(label)
  handles = _legend_handles(cmap, non_finite.any(), no_signal.any(), collapsed.any())
  fig.legend(handles=handles, loc="lower center", ncols=len(handles), fontsize=9, frameon=False,
             bbox_to_anchor=(0.5, 0.0))
  fig.suptitle(f"jaxinit sweep: {label} ({result.architecture}, batch {result.batch}, "
               f"{result.seeds} seeds, {_tables.bias_text(result)}"
               + (", interrupted" if result.interrupted else "") + ")", fontsize=11, y=1 - 0.12 / height_in)
  return save_figure(fig, path)


def _ticks(ax, depths, x_even: bool, widths, bottom: bool, left: bool) -> None:
  """Depth and width ticks, labelled on the outer panels only (tick objects are most of a figure's cost)."""
  if x_even:
    from matplotlib.ticker import MaxNLocator

    positions = [t for t in MaxNLocator(6, integer=True).tick_values(depths[0], depths[-1])
                 if depths[0] <= t <= depths[-1]]
    labels = [f"{t:g}" for t in positions]
  else:
    step = max(1, len(depths) // 8)
    positions, labels = np.arange(0, len(depths), step), [str(d) for d in depths[::step]]
  ax.set_xticks(positions, labels if bottom else [])
  ax.set_yticks(np.arange(len(widths)), [str(w) for w in widths] if left else [])
  if bottom:
    ax.set_xlabel("depth")
  if left:
    ax.set_ylabel("width")


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
  sw2, chi1, xi_c = (np.asarray(a, dtype=float) for a in (sigma_w2, chi1, xi_c))
  fig = _figure(7.0, 6.4)
  fig.set_layout_engine("constrained")
  top, bottom = fig.subplots(2, 1, sharex=True)
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
  return save_figure(fig, path)
