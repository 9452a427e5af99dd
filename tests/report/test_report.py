"""The report layer: one summary builder, whole files or none, non-finite values alike in JSON and CSV."""

import csv
import errno
import functools
import html
import json
import math
import os
import re
import stat

import jax
import jax.numpy as jnp
import pytest
from rich.console import Console

import jaxinit
from jaxinit import report
from jaxinit.sweep import SweepResult


@pytest.fixture(scope="module")
def result():
  """He, zeros, and two schemes whose weights are nan and inf (their sigma_w^2 too)."""
  return jaxinit.sweep({"he": jaxinit.he_normal(), "zeros": jaxinit.zeros,
                        "nan_w": lambda key, shape, dtype=jnp.float32: jnp.full(shape, jnp.nan, dtype),
                        "inf_w": lambda key, shape, dtype=jnp.float32: jnp.full(shape, jnp.inf, dtype)},
                       ("relu",), depths=(1, 2, 3), widths=(8,), batch=4, seeds=2)


@pytest.mark.slow
def test_non_finite_values_are_null_in_json_and_blank_in_csv(result, tmp_path):
  # to_json raised on a nan sigma_w2 after the whole sweep, and CSV wrote "nan" there
  nan_w2, inf_w2 = result.sigma_w2[2][0], result.sigma_w2[3][0]
  assert math.isnan(nan_w2) and math.isinf(inf_w2)
  doc = json.loads(result.to_json(tmp_path / "s.json").read_text())
  by_scheme = {c["scheme"]: c for c in doc["configurations"]}
  assert by_scheme["nan_w"]["sigma_w2"] is None and by_scheme["inf_w"]["sigma_w2"] is None
  assert by_scheme["he"]["sigma_w2"] == 2.0
  assert by_scheme["nan_w"]["forward_log10"] is None
  with open(result.to_csv(tmp_path / "s.csv"), newline="") as f:
    rows = list(csv.DictReader(f))
  for row in rows:
    for column, cell in row.items():
      assert cell.lower() not in ("nan", "inf", "-inf"), (column, cell)
  by_scheme = {r["scheme"]: r for r in rows}
  assert by_scheme["nan_w"]["sigma_w2"] == "" and by_scheme["inf_w"]["sigma_w2"] == ""
  assert by_scheme["nan_w"]["forward_log10"] == "" and by_scheme["he"]["sigma_w2"] == "2.0"
  # the same cells are missing in both files
  for record, row in zip(doc["configurations"], rows, strict=True):
    assert [k for k, v in record.items() if v is None] == [k for k, v in row.items() if v == ""]


def test_one_summary_builder_feeds_the_table_and_the_page(result):
  summary = report.summary_rows(result)
  assert [(r["scheme"], r["verdicts"]["collapsed"]) for r in summary][:2] == [("he", 0), ("zeros", 3)]
  console = Console(width=200, record=True)
  console.print(report.summary_table(result))
  text = console.export_text()
  page = report.html_page(result)
  for row in summary:
    assert row["scheme"] in text and f'<td class="name">{row["scheme"]}</td>' in page


def test_verdicts_are_computed_once_for_a_whole_report(result, tmp_path, monkeypatch):
  calls = []
  original = SweepResult.__dict__["_verdicts"].func

  def counted(self):
    calls.append(1)
    return original(self)

  prop = functools.cached_property(counted)
  prop.__set_name__(SweepResult, "_verdicts")
  monkeypatch.setattr(SweepResult, "_verdicts", prop)
  fresh = jax.tree.map(lambda x: x, result)  # a new result object: nothing cached yet
  files = report.write_report(fresh, tmp_path)
  report.summary_json(fresh, tmp_path, files, 1.0, None)
  assert "stable" in fresh.summary()
  assert len(calls) == 1
  assert [f.name for f in files] == list(report.REPORT_FILES)


def test_a_full_disk_leaves_the_old_file_whole_and_no_temporary(result, tmp_path, full_disk):
  target = tmp_path / "sweep.json"
  target.write_text("previous run")
  with pytest.raises(OSError) as info:
    result.to_json(target)
  assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
  assert target.read_text() == "previous run"
  assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.json"]


def test_atomic_write_replaces_whole_files(tmp_path):
  path = report.write_atomically(tmp_path / "a.txt", lambda f: f.write("one"))
  report.write_atomically(path, lambda f: f.write("two"))
  assert path.read_text() == "two" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
  with pytest.raises(ZeroDivisionError):
    report.write_atomically(path, lambda f: (f.write("half"), 1 / 0))
  assert path.read_text() == "two" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_devices_and_links_are_written_through_not_replaced(tmp_path):
  # renaming a temporary file over /dev/null would replace the device with a regular file
  report.write_atomically(os.devnull, lambda f: f.write("discarded"))
  assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
  real = tmp_path / "real.txt"
  real.write_text("old")
  link = tmp_path / "link.txt"
  link.symlink_to(real)
  report.write_atomically(link, lambda f: f.write("new"))
  assert link.is_symlink() and real.read_text() == "new"


@pytest.mark.slow
def test_heatmaps_mark_collapsed_cells(tmp_path, monkeypatch):
  import matplotlib.figure

  legends = []
  save = matplotlib.figure.Figure.savefig

  def savefig(fig, *args, **kwargs):
    legends.extend(t.get_text() for legend in fig.legends for t in legend.get_texts())
    return save(fig, *args, **kwargs)

  monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
  r = jaxinit.sweep({"const": jaxinit.constant(0.1), "he": jaxinit.he_normal()}, ("tanh",), depths=(1, 2),
                    widths=(8,), batch=4, seeds=1)
  assert r.verdict()[0].tolist() == [[["collapsed", "collapsed"]]]  # every unit identical
  report.heatmaps(r, tmp_path / "h.png")
  assert "collapsed" in legends


def test_summary_returns_text_at_full_width_and_prints_nothing(result, capsys):
  text = result.summary()
  assert capsys.readouterr().out == ""
  header = next(line for line in text.splitlines() if "scheme" in line)
  for column in ("stable", "exploding", "vanishing", "collapsed", "non-finite"):
    assert column in header  # no header cut or wrapped


@functools.cache
def _choices():
  """relu and tanh, where some scheme holds through the deepest depth, and gelu, where none does."""
  return jaxinit.sweep(("he_normal", "glorot_normal", "lecun_normal", "torch_default_kernel"), ("relu", "gelu"),
                       depths=range(1, 41), widths=(16, 64), batch=8, seeds=2, key=jax.random.key(4))


@pytest.mark.slow
def test_the_report_says_what_to_use_per_activation():
  r = _choices()
  relu, gelu = report.use_lines(r)
  assert relu["scheme"] == "he_normal" and relu["holds"]
  assert relu["text"].startswith("relu: use he_normal: stable through depth 40 at ")
  assert gelu["holds"] is False and gelu["text"].startswith("gelu: no scheme here is stable to depth 40; the deepest")
  assert "has no depth-stable variance-scaling init" in gelu["text"]
  assert "jaxinit recommend --activation gelu --depth 40" in gelu["text"]
  page = report.html_page(r)
  console = Console(width=300, record=True)
  console.print(report.summary_table(r))
  text = console.export_text()
  flat = " ".join(text.split())  # the caption wraps at the table's width
  for line in (relu["text"], gelu["text"]):
    assert html.escape(line) in page and " ".join(line.split()) in flat


@pytest.mark.slow
def test_the_report_explains_identical_rows_and_the_engines():
  r = _choices()
  twins, engines = report.notes(r)
  assert twins.startswith("glorot_normal = lecun_normal: identical rows: on the sweep's square N x N layers")
  assert engines == "Engines: every weight matrix drawn (dense)."
  sampled = jaxinit.sweep(("orthogonal", "he_normal"), ("tanh",), depths=(2,), widths=(8, 64), batch=4, seeds=1)
  assert report.notes(sampled)[-1] == ("Engines: every weight matrix drawn (dense); X W sampled from its exact "
                                       "law instead (gaussian), where that is exact and cheaper, for N=64: orthogonal.")


@pytest.mark.slow
def test_stable_depths_are_coloured_by_how_deep_they_hold():
  page = report.html_page(_choices())
  hues = [int(h) for h in re.findall(r'style="background: hsl\((\d+), 65%, 86%\)"', page)]
  assert len(hues) == 4 * 2 * 2 and min(hues) < 20 and max(hues) == 120  # red for none, green through 40
  assert report.depth_fraction(20, 40) == 0.5 and report.depth_fraction(60, 40) == 1.0


def test_opaque_schemes_that_agree_are_not_said_to_share_a_simulation():
  # zeros and constant(0) are opaque initializers: run apart, they only happen to agree (and nothing holds)
  r = jaxinit.sweep({"zeros": jaxinit.zeros, "constant0": jaxinit.constant(0.0)}, ("relu",), depths=(1, 2),
                    widths=(8,), batch=4, seeds=1)
  assert report.notes(r)[0] == "zeros = constant0: identical rows."
  assert report.use_lines(r)[0]["text"] == "relu: no scheme here is stable at any depth swept"
