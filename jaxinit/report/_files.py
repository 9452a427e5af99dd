"""The report folder `jaxinit sweep` writes: sweep.json, sweep.csv, two heatmaps and index.html."""

from pathlib import Path

import numpy as np

from jaxinit.report import _data, _html, _plots, _tables

REPORT_FILES = ("sweep.json", "sweep.csv", *(name for name, _ in _html.FIGURES), "index.html")


def write_report(result, out, *, elapsed: float | None = None, cache=None) -> list[Path]:
  """Writes sweep.json, sweep.csv, heatmap_forward.png, heatmap_gradient.png and index.html into ``out``.

  Each file is written atomically: an error (a full disk) leaves no partial file under its
  name, and the files written before it stay whole.

  Args:
    result: a :class:`jaxinit.SweepResult`.
    out: an existing folder.
    elapsed: the sweep's seconds, shown on the page.
    cache: the folder compiled programs are kept in, shown on the page (None: not kept).

  Returns:
    The paths written, in the order above.

  Raises:
    OSError: a file cannot be written.
  """
  out = Path(out)
  with np.errstate(all="ignore"):  # seed statistics of -inf log-ratios (zero signal) are nan by design
    records = _tables.rows(result)
    files = [_data.write_json(result, out / "sweep.json", records),
             _data.write_csv(result, out / "sweep.csv", records)]
    files += [_plots.heatmaps(result, out / name, metric) for name, metric in _html.FIGURES]
  files.append(_html.write_html(result, out / "index.html", elapsed=elapsed, cache=cache))
  return files


def summary_json(result, out, files, elapsed: float, cache) -> dict:
  """What ``jaxinit sweep --format json`` prints: parameters, time, files and :func:`summary_rows`."""
  return {"parameters": _tables.parameters(result), "elapsed_s": round(elapsed, 3),
          "cache_dir": None if cache is None else str(cache), "out": str(out),
          "files": [str(f) for f in files], "summary": _tables.summary_rows(result),
          "use": _tables.use_lines(result), "notes": _tables.notes(result)}
