"""Tables of a sweep: one record per configuration, the run's parameters, and the summary table.

Every number here is a finite float or None: a non-finite value (nan, inf) is None, which
JSON writes as null and CSV as an empty cell.
"""

import math

import numpy as np

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


def rows(result) -> list[dict]:
  """One record per (scheme, activation, width, depth): every metric's seed mean and std, and the verdict.

  Args:
    result: a :class:`jaxinit.SweepResult`.

  Returns:
    Dicts with keys ``scheme, activation, width, depth, engine, sigma_w2, verdict,
    forward_log10, gradient_log10, finite_fraction`` and ``<metric>_mean``, ``<metric>_std``
    for log_q, log_m, log_grad, corr, dead, spread, log_norm0; non-finite numbers are None.
  """
  verdict, fwd, grad = result.verdict(), result.forward_log10(), result.gradient_log10()
  depth_index = [d - 1 for d in result.depths]
  arrays = {m: np.asarray(getattr(result, m), dtype=np.float64)[..., depth_index] for m in _MEASURED}
  finite = np.cumprod(np.asarray(result.finite), axis=-1)[..., depth_index].mean(axis=3)
  with np.errstate(invalid="ignore"):  # -inf logs (zero init) have no std
    means = {m: a.mean(axis=3) for m, a in arrays.items()}
    stds = {m: a.std(axis=3) for m, a in arrays.items()}
  out = []
  for idx in np.ndindex(verdict.shape):
    i, j, k, d = idx
    row = {"scheme": result.schemes[i], "activation": result.activations[j], "width": result.widths[k],
           "depth": result.depths[d], "engine": result.scheme_engines[i][k],
           "sigma_w2": finite_or_none(result.sigma_w2[i][k]), "verdict": str(verdict[idx]),
           "forward_log10": finite_or_none(fwd[idx]), "gradient_log10": finite_or_none(grad[idx]),
           "finite_fraction": finite_or_none(finite[idx])}
    for m in arrays:
      row[f"{m}_mean"] = finite_or_none(means[m][idx])
      row[f"{m}_std"] = finite_or_none(stds[m][idx])
    out.append(row)
  return out


def parameters(result) -> dict:
  """The run's options, engines and whether it was interrupted, as JSON values."""
  return {"schemes": list(result.schemes), "activations": list(result.activations),
          "widths": list(result.widths), "depths": list(result.depths), "seeds": result.seeds,
          "batch": result.batch, "bias_std": result.bias_std,
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
                f"batch {result.batch}, {result.seeds} seeds, bias std {result.bias_std:g}")
  table.add_column("scheme", no_wrap=True, style="bold")
  table.add_column("activation", no_wrap=True)
  for v in VERDICTS:
    table.add_column(v, justify="right")
  for w in result.widths:
    table.add_column(f"N={w}", justify="right")
  for row in summary_rows(result):
    counts = [row["verdicts"][v] for v in VERDICTS]
    cells = [stable_cell(row["stable_depth"][str(w)], result.depths[-1])[0] for w in result.widths]
    table.add_row(row["scheme"], row["activation"], *[str(c) if c else "." for c in counts], *cells)
  return table


def render(table) -> str:
  """A rich renderable as plain text at its natural width: nothing squeezed, nothing printed."""
  import io

  from rich.console import Console

  width = Console(width=10_000).measure(table).maximum
  console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
  console.print(table)
  return console.file.getvalue()
