"""A sweep's data files: JSON (parameters, thresholds, one record per configuration) and CSV (one row each).

Both are written atomically, and both write a non-finite number the same way: JSON null,
an empty CSV cell.
"""

import csv
import json
from pathlib import Path

from jaxinit.report import _tables
from jaxinit.report._atomic import write_atomically
from jaxinit.sweep._result import COLLAPSE_TOL, EXPLODE_LOG10, VANISH_LOG10


def json_document(result, records: list[dict] | None = None) -> dict:
  """What sweep.json holds: ``{"parameters", "thresholds", "configurations"}`` (``records``: the
  result's :func:`jaxinit.report.rows`, when already at hand)."""
  return {"parameters": _tables.parameters(result),
          "thresholds": {"explode_log10": EXPLODE_LOG10, "vanish_log10": VANISH_LOG10,
                         "collapse_tol": COLLAPSE_TOL},
          "configurations": _tables.rows(result) if records is None else records}


def write_json(result, path, records: list[dict] | None = None) -> Path:
  """Writes :func:`json_document` to ``path`` (atomically); non-finite numbers are null.

  Returns:
    The path written.

  Raises:
    OSError: the file cannot be written; ``path`` is then left as it was.
  """
  text = json.dumps(json_document(result, records), indent=1, allow_nan=False)
  return write_atomically(path, lambda f: f.write(text))


def write_csv(result, path, records: list[dict] | None = None) -> Path:
  """Writes one CSV row per (scheme, activation, width, depth) with every metric (atomically).

  Columns are the keys of :func:`jaxinit.report.rows`; a non-finite number is an empty cell.

  Returns:
    The path written.

  Raises:
    OSError: the file cannot be written; ``path`` is then left as it was.
  """
  records = _tables.rows(result) if records is None else records

  def write(f):
    writer = csv.DictWriter(f, fieldnames=list(records[0]))
    writer.writeheader()
    writer.writerows(records)

  return write_atomically(path, write)
