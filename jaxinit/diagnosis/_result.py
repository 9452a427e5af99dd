"""The result of a diagnosis: one row per parametrised layer call, the warnings, and their renderings."""

import json
import math
from typing import NamedTuple

from rich.console import Console
from rich.table import Table


class LayerRow(NamedTuple):
  """One call of a parametrised layer, in execution order. Numbers are None where they do not apply."""
  index: int
  path: str
  kind: str
  kernel_shape: tuple[int, ...] | None
  fan_in: int | None
  fan_out: int | None
  fans_note: str  # how the fans were read, or why they could not be
  weight_mean: float | None
  weight_std: float | None
  weight_kurtosis: float | None  # excess kurtosis: 0 normal, -0.63 truncated at 2 std, -1.2 uniform
  scheme: str  # the known scheme the weights match, or "unknown"
  scheme_ratio: float | None  # weight std / that scheme's std
  in_rms: float | None
  out_mean: float | None
  out_std: float | None
  out_rms: float | None
  dead_fraction: float | None  # units <= 0 on the whole batch; only when a rectifier follows
  grad_out_std: float | None
  grad_kernel_std: float | None
  identical_units: int | None  # units whose weights repeat another unit's
  identical_grad: int | None  # units whose kernel gradient repeats another unit's
  finite: bool
  non_finite: tuple[str, ...]  # which of kernel, output, output gradient, kernel gradient hold inf or nan
  activation_in: str | None
  activation_out: str | None


class DiagnosisWarning(NamedTuple):
  """A finding: its code, the layer path, a message with the numbers, and a fix in jaxinit's terms."""
  code: str
  path: str
  message: str
  fix: str

  def __str__(self) -> str:
    return f"[{self.code}] {self.path}: {self.message} Fix: {self.fix}"


def _fmt(value, digits: int = 3) -> str:
  if value is None:
    return "-"
  if isinstance(value, float):
    if not math.isfinite(value):
      return str(value)
    return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:.2e}"
  return str(value)


def _json_number(value):
  if isinstance(value, float) and not math.isfinite(value):
    return str(value)
  return value


class Diagnosis:
  """Per-layer statistics of one forward and backward pass, and the warnings drawn from them.

  Attributes:
    rows: one :class:`LayerRow` per call of a parametrised layer, in execution order.
    warnings: the :class:`DiagnosisWarning` findings, each naming a layer and its numbers.
    loss: the loss of the pass.
    framework: ``"nnx"`` or ``"linen"``.
  """

  def __init__(self, rows: tuple[LayerRow, ...], warnings: tuple[DiagnosisWarning, ...], loss: float,
               framework: str, streams: tuple = ()):
    self.rows = tuple(rows)
    self.warnings = tuple(warnings)
    self.loss = loss
    self.framework = framework
    self.streams = tuple(streams)

  @property
  def ok(self) -> bool:
    """True when there is no warning."""
    return not self.warnings

  def row(self, path: str) -> LayerRow:
    """The first row whose path is ``path``."""
    for row in self.rows:
      if row.path == path:
        return row
    raise KeyError(f"Diagnosis.row: no layer path={path!r}; paths are {', '.join(r.path for r in self.rows)}")

  def table(self) -> Table:
    """The rows as a rich table."""
    table = Table(title=f"jaxinit.diagnose ({self.framework}): {len(self.rows)} layers, "
                        f"{len(self.warnings)} warnings", title_justify="left")
    for name in ("#", "path", "kind", "kernel", "fan_in", "fan_out", "w std", "scheme (ratio)", "act",
                 "out mean", "out std", "dead", "grad out", "grad W", "finite"):
      table.add_column(name, justify="left" if name in ("path", "kind", "kernel", "scheme (ratio)", "act")
                       else "right", overflow="fold")
    for number, r in enumerate(self.rows, 1):
      scheme = r.scheme if r.scheme_ratio is None else f"{r.scheme} ({r.scheme_ratio:.2f})"
      fans = (_fmt(r.fan_in), _fmt(r.fan_out)) if r.fan_in is not None else ("?", "?")
      if r.fans_note and r.fan_in is None and r.scheme != "-":
        scheme = f"{scheme}; {r.fans_note}"
      table.add_row(str(number), r.path, r.kind, "-" if r.kernel_shape is None else str(r.kernel_shape),
                    *fans, _fmt(r.weight_std), scheme, r.activation_out or "-", _fmt(r.out_mean),
                    _fmt(r.out_std), _fmt(r.dead_fraction, 2), _fmt(r.grad_out_std), _fmt(r.grad_kernel_std),
                    "yes" if r.finite else "NO")
    return table

  def __rich__(self):
    return self.table()

  def summary(self, width: int = 160) -> str:
    """The table and the warnings as plain text (nothing is printed)."""
    console = Console(width=width, record=True, file=_NullFile(), color_system=None)
    console.print(self.table())
    for warning in self.warnings:
      console.print(str(warning), markup=False, highlight=False)
    if not self.warnings:
      console.print("no warnings")
    return console.export_text()

  def __str__(self) -> str:
    return self.summary()

  def __repr__(self) -> str:
    return f"Diagnosis({len(self.rows)} layers, {len(self.warnings)} warnings, framework={self.framework!r})"

  def to_dict(self) -> dict:
    """Plain Python data: rows, warnings, loss, framework (non-finite numbers as strings)."""
    rows = [{k: _json_number(v) for k, v in r._asdict().items()} for r in self.rows]
    return {"framework": self.framework, "loss": _json_number(self.loss), "rows": rows,
            "warnings": [w._asdict() for w in self.warnings]}

  def to_json(self, indent: int | None = 2) -> str:
    """:meth:`to_dict` as a JSON string."""
    return json.dumps(self.to_dict(), indent=indent)

  def plot(self, path, title: str | None = None):
    """Draws forward (output rms) and gradient (output-gradient std) scale per layer; warned layers in red.

    Args:
      path: the image file to write (its suffix picks the format), written atomically.
      title: the figure title.

    Returns:
      The path written, as a ``pathlib.Path``.
    """
    from jaxinit.diagnosis import _plot  # matplotlib only when a plot is asked for

    return _plot.plot(self, path, title)


class _NullFile:
  def write(self, text):
    return len(text)

  def flush(self):
    pass
