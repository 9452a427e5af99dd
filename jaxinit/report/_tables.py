"""Tables of a sweep: one record per configuration, the run's parameters, and the summary table.

Every number here is a finite float or None: a non-finite value (nan, inf) is None, which
JSON writes as null and CSV as an empty cell.
"""

import math

import numpy as np

from jaxinit.core import _activations
from jaxinit.sweep._result import VERDICTS

_MEASURED = ("log_q", "log_m", "log_grad", "corr", "dead", "spread", "log_norm0")


def finite_or_none(x) -> float | None:
  """``float(x)`` if finite, else None.

  Examples:
    >>> from jaxinit.report import finite_or_none
    >>> finite_or_none(1.5), finite_or_none(float("nan")), finite_or_none(float("-inf"))
    (1.5, None, None)
  """
  if x is None:
    return None
  x = float(x)
  return x if math.isfinite(x) else None


def _column(values) -> list:
  """An array's entries as Python floats, with None for every non-finite one."""
  a = np.asarray(values, dtype=np.float64).reshape(-1)
  out = a.astype(object)
  out[~np.isfinite(a)] = None
  return out.tolist()


def rows(result) -> list[dict]:
  """One record per (scheme, activation, width, depth): every metric's seed mean and std, and the verdict.

  Args:
    result: a :class:`jaxinit.SweepResult`.

  Returns:
    Dicts with keys ``scheme, activation, width, depth, engine, sigma_w2, bias_std, verdict,
    forward_log10, gradient_log10, finite_fraction`` and ``<metric>_mean``, ``<metric>_std``
    for log_q, log_m, log_grad, corr, dead, spread, log_norm0; non-finite numbers are None.
  """
  verdict = result.verdict()
  shape = verdict.shape  # (K, A, W, D)
  depth_index = [d - 1 for d in result.depths]
  arrays = {m: np.asarray(getattr(result, m), dtype=np.float64)[..., depth_index] for m in _MEASURED}
  finite = np.cumprod(np.asarray(result.finite), axis=-1)[..., depth_index].mean(axis=3)
  k, a, w, d = np.indices(shape).reshape(4, -1)
  per_scheme_width = lambda table: np.asarray(table, dtype=np.float64)[k, w]  # noqa: E731
  columns = {
      "scheme": np.asarray(result.schemes, dtype=object)[k].tolist(),
      "activation": np.asarray(result.activations, dtype=object)[a].tolist(),
      "width": np.asarray(result.widths)[w].tolist(), "depth": np.asarray(result.depths)[d].tolist(),
      "engine": np.asarray(result.scheme_engines, dtype=object)[k, w].tolist(),
      "sigma_w2": _column(per_scheme_width(result.sigma_w2)),
      "bias_std": np.asarray(result.bias_stds, dtype=np.float64)[k].tolist(),
      "verdict": verdict.reshape(-1).tolist(), "forward_log10": _column(result.forward_log10()),
      "gradient_log10": _column(result.gradient_log10()), "finite_fraction": _column(finite)}
  with np.errstate(invalid="ignore"):  # -inf logs (zero init) have no std
    for m, values in arrays.items():
      columns[f"{m}_mean"] = _column(values.mean(axis=3))
      columns[f"{m}_std"] = _column(values.std(axis=3))
  names = list(columns)
  return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def parameters(result) -> dict:
  """The run's options, engines and whether it was interrupted, as JSON values."""
  return {"schemes": list(result.schemes), "activations": list(result.activations),
          "widths": list(result.widths), "depths": list(result.depths), "seeds": result.seeds,
          "batch": result.batch, "bias_std": result.bias_std,
          "scheme_bias_stds": dict(zip(result.schemes, result.bias_stds, strict=True)),
          "architecture": result.architecture, "engines": list(result.engines),
          "scheme_engines": {s: list(e) for s, e in zip(result.schemes, result.scheme_engines, strict=True)},
          "branch_scale": result.branch_scale, "input_correlation": result.input_correlation,
          "interrupted": result.interrupted}


def summary_rows(result) -> list[dict]:
  """Per scheme x activation: verdict counts over width x depth and the deepest stable depth per width.

  The one summary every rendering uses (the rich table, the HTML page, ``--format json``).

  Returns:
    Dicts ``{"scheme", "activation", "verdicts": {verdict: count}, "stable_depth": {str(width): depth}}``.
  """
  verdict, stable = result.verdict(), result.stable_depth()
  out = []
  for i, scheme in enumerate(result.schemes):
    for j, act in enumerate(result.activations):
      out.append({"scheme": scheme, "activation": act,
                  "verdicts": {v: int((verdict[i, j] == v).sum()) for v in VERDICTS},
                  "stable_depth": {str(w): int(stable[i, j, k]) for k, w in enumerate(result.widths)}})
  return out


def _widths_text(widths) -> str:
  widths = list(widths)
  return f"N={widths[0]}" if len(widths) == 1 else f"N={widths[0]}..{widths[-1]}"


def use_lines(result) -> list[dict]:
  """Per activation, what the sweep says to use: the scheme stable deepest across the widths, or that none
  is stable through the deepest depth swept, with a pointer to what is.

  The best scheme has the largest sum over widths of its deepest stable depth (the first such). Its
  line says where it holds through the deepest depth and how deep it holds elsewhere.

  Returns:
    Dicts ``{"activation", "scheme", "holds", "stable_depth": {str(width): depth}, "text"}``; ``holds``
    says whether the scheme is stable through the deepest depth at some width.
  """
  stable, widths, deepest = result.stable_depth(), list(result.widths), result.depths[-1]
  out = []
  for j, act in enumerate(result.activations):
    best = int(np.argmax(stable[:, j].sum(axis=-1)))
    depths = [int(d) for d in stable[best, j]]
    scheme = result.schemes[best]
    through = [w for w, d in zip(widths, depths, strict=True) if d >= deepest]
    short = ", ".join(f"{d} at N={w}" for w, d in zip(widths, depths, strict=True) if d < deepest)
    if not any(depths):
      text = f"{act}: no scheme here is stable at any depth swept"
    elif len(through) == len(widths):
      text = f"{act}: use {scheme}: stable through depth {deepest} at every width"
    elif through:
      text = f"{act}: use {scheme}: stable through depth {deepest} at {_widths_text(through)}; to {short}"
    else:
      name = result.activations[j]
      why = (f" (a plain {name} MLP has no depth-stable variance-scaling init: a residual branch scale of "
             "about 1/sqrt(depth), or normalisation, is needed)"
             if name in _activations.NO_DEPTH_STABLE_INIT else "")
      text = (f"{act}: no scheme here is stable to depth {deepest}; the deepest, {scheme}, holds to "
              f"{short}{why}; see jaxinit recommend --activation {name} --depth {deepest}")
    out.append({"activation": act, "scheme": scheme, "holds": bool(through),
                "stable_depth": {str(w): d for w, d in zip(widths, depths, strict=True)}, "text": text})
  return out


def notes(result) -> list[str]:
  """What the tables would leave unexplained: schemes with identical rows, and what each width's engine
  did."""
  metrics = [np.asarray(result.log_m), np.asarray(result.log_grad), np.asarray(result.corr)]
  twins: dict[int, list[int]] = {}  # the first of each set of schemes with identical rows
  for i in range(len(result.schemes)):
    first = next((f for f in twins if all(np.array_equal(m[f], m[i], equal_nan=True) for m in metrics)), i)
    twins.setdefault(first, []).append(i)
  out = []
  for members in twins.values():
    if len(members) > 1:
      names = " = ".join(result.schemes[i] for i in members)
      # schemes of one family with one variance share a lane; opaque ones are run apart and merely agree
      same = (len({result.sigma_w2[i] for i in members}) == 1
              and all(result.config.schemes[i].family is not None for i in members))
      out.append(f"{names}: identical rows" + (
          ": on the sweep's square N x N layers (fan_in = fan_out) they draw the same distribution with the "
          "same variance (glorot's 2 / (fan_in + fan_out) is lecun's 1 / fan_in), so they were simulated "
          "once."
          if same else "."))
  sampled = []
  for k, w in enumerate(result.widths):
    names = [s for s, e in zip(result.schemes, result.scheme_engines, strict=True) if e[k] == "gaussian"]
    if names:
      sampled.append(f"N={w}: {', '.join(names)}")
  out.append("Engines: every weight matrix drawn (dense)" + (
      "; X W sampled from its exact law instead (gaussian), where that is exact and cheaper, for "
      + "; ".join(sampled) if sampled else "") + ".")
  return out


def stable_cell(depth: int, max_depth: int) -> tuple[str, str]:
  """A deepest-stable-depth cell: its text and its kind (``"none"``, ``"some"``, ``"all"``)."""
  if depth == 0:
    return "-", "none"
  return (f"{depth}+", "all") if depth >= max_depth else (str(depth), "some")


def summary_table(result):
  """A rich table of :func:`summary_rows`: verdict counts and the deepest stable depth per width.

  Returns:
    A ``rich.table.Table`` (print it with a rich console).
  """
  from rich.table import Table

  depths = f"{result.depths[0]}..{result.depths[-1]}"
  table = Table(title=f"jaxinit sweep: {result.architecture}, depths {depths}, "
                f"batch {result.batch}, {result.seeds} seeds, {bias_text(result)}")
  table.add_column("scheme", no_wrap=True, style="bold")
  table.add_column("activation", no_wrap=True)
  for v in VERDICTS:
    table.add_column(v, justify="right")
  for w in result.widths:
    table.add_column(f"N={w}", justify="right")
  deepest = result.depths[-1]
  for row in summary_rows(result):
    counts = [row["verdicts"][v] for v in VERDICTS]
    cells = [_depth_cell(row["stable_depth"][str(w)], deepest) for w in result.widths]
    table.add_row(row["scheme"], row["activation"], *[str(c) if c else "." for c in counts], *cells)
  table.caption = "\n".join([*(u["text"] for u in use_lines(result)), *notes(result)])
  table.caption_justify = "left"
  return table


def depth_fraction(depth: int, max_depth: int) -> float:
  """How far through the swept depths a scheme stays stable, 0..1: the colour scale of the tables."""
  return min(1.0, depth / max_depth) if max_depth > 0 else 0.0


def _depth_cell(depth: int, max_depth: int) -> str:
  """A deepest-stable-depth cell coloured by how deep it holds: red, through yellow, to green."""
  text, _ = stable_cell(depth, max_depth)
  f = depth_fraction(depth, max_depth)
  style = "red" if f < 0.25 else "yellow" if f < 0.75 else "green" if f < 1 else "bold green"
  return f"[{style}]{text}[/{style}]"


def bias_text(result) -> str:
  """The biases of a sweep in a few words: one std, or each scheme's that has its own."""
  own = [f"{s}: {b:.3g}" for s, b in zip(result.schemes, result.bias_stds, strict=True)
         if b != result.bias_std]
  return f"bias std {result.bias_std:g}" + (f" ({'; '.join(own)})" if own else "")


def render(table) -> str:
  """A rich renderable as plain text at its natural width: nothing squeezed, nothing printed."""
  import io

  from rich.console import Console

  width = Console(width=10_000).measure(table).maximum
  console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
  console.print(table)
  return console.file.getvalue()
