"""The command line, called in-process through main(argv)."""

import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys

import matplotlib.image
import pytest

import jaxinit
from jaxinit.cli import _common, _sweep
from jaxinit.cli._main import main


def test_schemes_table_lists_every_scheme(capsys):
  assert main(["schemes"]) == 0
  out = capsys.readouterr().out
  for name in ("he_normal", "glorot_normal", "orthogonal", "torch_default_kernel", "dirac", "sparse"):
    assert name in out


def test_schemes_json(capsys):
  assert main(["schemes", "--format", "json"]) == 0
  rows = json.loads(capsys.readouterr().out)
  by_name = {r["name"]: r for r in rows}
  assert by_name["he_normal"]["variance"] == "2 / fan_in"
  assert "kaiming_normal" in by_name["he_normal"]["aliases"]
  for row in rows:  # every catalogued scheme is a public factory or initializer; some take arguments
    kind = row["name"].split(":")[0]
    assert hasattr(jaxinit, kind) or kind == "edge_of_chaos" and ":" in row["name"]
  assert "edge_of_chaos:ACTIVATION[,SIGMA_B2]" in by_name


def test_bad_command_exits_2(capsys):
  assert main(["frobnicate"]) == 2
  assert "invalid choice" in capsys.readouterr().err


@pytest.mark.slow
def test_python_dash_m():
  proc = subprocess.run([sys.executable, "-m", "jaxinit", "schemes", "--format", "json"], capture_output=True,
                        text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr
  assert json.loads(proc.stdout)


# ------------------------------------------------------------------------------------------- sweep

TINY = ["--schemes", "he_normal,zeros", "--activations", "relu", "--depths", "1:8", "--widths", "8,16",
        "--batch", "4", "--seeds", "2", "--no-cache"]
def _run(argv):
  out, err = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    code = main(argv)
  return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
  """One tiny sweep with --format json, shared by the report tests."""
  folder = tmp_path_factory.mktemp("report")
  code, out, err = _run(["sweep", *TINY, "--format", "json", "--out", str(folder)])
  return code, out, err, folder


def test_sweep_json_stdout_is_one_clean_document(report):
  code, out, _, folder = report
  assert code == 0
  doc = json.loads(out)
  assert doc["parameters"]["schemes"] == ["he_normal", "zeros"]
  assert doc["parameters"]["widths"] == [8, 16] and doc["parameters"]["depths"] == list(range(1, 9))
  assert doc["cache_dir"] is None
  by_scheme = {row["scheme"]: row for row in doc["summary"]}
  assert by_scheme["zeros"]["verdicts"]["collapsed"] == 16  # 2 widths x 8 depths, every unit identical
  assert by_scheme["zeros"]["stable_depth"] == {"8": 0, "16": 0}
  assert sorted(os.path.basename(f) for f in doc["files"]) == sorted(
      ["sweep.json", "sweep.csv", "heatmap_forward.png", "heatmap_gradient.png", "index.html"])


def test_sweep_reports_where_a_stopwatchs_time_went(report):
  code, out, _, _ = report
  times = json.loads(out)["timings_s"]
  assert list(times) == ["start", "trace", "compile", "run", "report", "total"]
  assert all(v >= 0 for v in times.values())
  # the phases add up to the process's own time so far, which is at least the sweep's
  assert times["total"] == pytest.approx(sum(v for k, v in times.items() if k != "total"), abs=0.01)
  assert times["trace"] + times["compile"] + times["run"] <= json.loads(out)["elapsed_s"] + 0.05


def test_sweep_closing_line_gives_the_total_and_its_phases(tmp_path):
  code, out, _ = _run(["sweep", *TINY, "--out", str(tmp_path)])
  assert code == 0
  closing = [line for line in out.splitlines() if line.startswith("wrote ")][-1]
  assert re.search(r"; [\d.]+ s \(start [\d.]+, trace [\d.]+, compile [\d.]+, run [\d.]+, report [\d.]+\); "
                   r"compiled programs: not kept$", closing), closing


def test_dry_run_says_what_a_sweep_costs_and_runs_nothing(tmp_path, monkeypatch):
  from jaxinit.sweep import _programs

  monkeypatch.setattr(_programs, "lower", lambda *a: pytest.fail("the dry run traced a program"))
  out_dir = tmp_path / "never"
  argv = ["sweep", *TINY, "--widths", "12,24", "--dry-run", "--out", str(out_dir)]  # widths no other test compiles
  code, out, _ = _run(argv)
  assert code == 0 and not out_dir.exists()
  assert "2 schemes x 1 activations x 2 widths x 8 depths = 32 configurations, 64 networks (2 seeds)" in out
  assert "programs: 2 (one per width), 0 compiled already; 2 calls" in out
  assert re.search(r"peak memory of a call: N=12 [\d.]+ KiB, N=24 [\d.]+ KiB", out)
  assert re.search(r"estimated time: compile about [\d.]+ s, run about (under 0.1|[\d.]+) s", out)
  code, out, _ = _run([*argv, "--format", "json"])
  doc = json.loads(out)
  assert code == 0 and doc["programs"] == 2 and doc["networks"] == 64 and set(doc["peak_bytes"]) == {"12", "24"}


def test_the_default_sweep_weighs_jaxinits_own_answer_beside_the_classics():
  config = _sweep.default_sweep_config()
  assert config.scheme_labels[-1] == "edge_of_chaos:tanh,0.05"
  assert config.bias_stds[-1] == pytest.approx(0.05 ** 0.5) and set(config.bias_stds[:-1]) == {0.0}


def test_sweep_json_file_has_every_configuration(report):
  doc = json.loads((report[3] / "sweep.json").read_text())
  assert len(doc["configurations"]) == 2 * 1 * 2 * 8
  assert {c["verdict"] for c in doc["configurations"] if c["scheme"] == "zeros"} == {"collapsed"}
  assert doc["parameters"]["interrupted"] is False


def test_sweep_csv_has_a_header_and_one_row_per_configuration(report):
  with (report[3] / "sweep.csv").open() as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 32
  for column in ("scheme", "activation", "width", "depth", "verdict", "forward_log10", "gradient_log10",
                 "corr_mean", "log_norm0_std"):
    assert column in rows[0]
  assert {r["width"] for r in rows} == {"8", "16"}


@pytest.mark.parametrize("name", ["heatmap_forward.png", "heatmap_gradient.png"])
def test_sweep_heatmaps_are_images(report, name):
  image = matplotlib.image.imread(report[3] / name)
  assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
  assert image.std() > 0  # not a blank canvas


def test_index_html_shows_the_figures_and_the_table_offline(report):
  page = (report[3] / "index.html").read_text()
  assert '<img src="heatmap_forward.png"' in page and '<img src="heatmap_gradient.png"' in page
  assert "<table>" in page and "<td class=\"name\">zeros</td>" in page and "N=16" in page
  assert "<style>" in page
  for external in ("<script", "<link", "http://", "https://", "src=\"/"):
    assert external not in page


@pytest.mark.slow
def test_sweep_table_prints_the_summary(tmp_path, capsys):
  assert main(["sweep", *TINY[:6], "--depths", "1:4", "--widths", "8", "--batch", "4", "--seeds", "1",
               "--no-cache", "--out", str(tmp_path)]) == 0
  captured = capsys.readouterr()
  assert "he_normal" in captured.out and "zeros" in captured.out and "index.html" in captured.out
  assert (tmp_path / "index.html").exists()


def _interrupt_at(monkeypatch, width_index):
  original = _sweep.SweepProgress.__call__

  def call(self, phase, width, done, total):
    original(self, phase, width, done, total)
    if phase == "run" and done == width_index:
      raise KeyboardInterrupt

  monkeypatch.setattr(_sweep.SweepProgress, "__call__", call)


def test_ctrl_c_writes_the_finished_widths_and_exits_130(tmp_path, monkeypatch):
  _interrupt_at(monkeypatch, 1)  # after the first width ran
  code, _, err = _run(["sweep", *TINY, "--out", str(tmp_path)])
  assert code == 130
  assert "interrupted" in err and "1 of 2 widths" in err
  doc = json.loads((tmp_path / "sweep.json").read_text())
  assert doc["parameters"]["interrupted"] is True and doc["parameters"]["widths"] == [8]
  assert len(doc["configurations"]) == 2 * 8
  for name in ("sweep.csv", "heatmap_forward.png", "heatmap_gradient.png", "index.html"):
    assert (tmp_path / name).stat().st_size > 0
  assert "Interrupted" in (tmp_path / "index.html").read_text()


def test_ctrl_c_before_any_width_writes_nothing(tmp_path, monkeypatch):
  _interrupt_at(monkeypatch, 0)
  code, _, err = _run(["sweep", *TINY, "--out", str(tmp_path)])
  assert code == 130 and "nothing written" in err
  assert not (tmp_path / "sweep.json").exists()


def _ctrl_c_at(monkeypatch, done_widths, presses):
  """Presses Ctrl-C ``presses`` times when the run reports ``done_widths`` finished widths: calls the SIGINT
  handler the sweep installed, as the interpreter does for a signal, but at a known point (a real signal can
  land in a garbage collector's callback, which swallows what the handler raises)."""
  import signal

  original = _sweep.SweepProgress.__call__

  def call(self, phase, width, done, total):
    original(self, phase, width, done, total)
    if phase == "run" and done == done_widths and not getattr(self, "pressed", False):
      self.pressed = True
      handler = signal.getsignal(signal.SIGINT)
      assert isinstance(handler, _sweep._Interrupts)  # installed for the run
      for _ in range(presses):
        handler(signal.SIGINT, None)

  monkeypatch.setattr(_sweep.SweepProgress, "__call__", call)


def test_ctrl_c_says_so_at_once_and_finishes_the_running_width(tmp_path, monkeypatch):
  import signal

  before = signal.getsignal(signal.SIGINT)
  _ctrl_c_at(monkeypatch, 0, presses=1)  # while the first width runs
  code, _, err = _run(["sweep", *TINY, "--out", str(tmp_path)])
  assert code == 130 and signal.getsignal(signal.SIGINT) is before  # the handler lives only while it runs
  assert err.index("interrupting: finishing width N=8") < err.index("kept the 1 of 2 widths")
  assert json.loads((tmp_path / "sweep.json").read_text())["parameters"]["widths"] == [8]


def test_a_second_ctrl_c_stops_at_once_and_keeps_the_finished_widths(tmp_path, monkeypatch):
  _ctrl_c_at(monkeypatch, 1, presses=2)  # the first width finished, the second is starting
  code, _, err = _run(["sweep", *TINY, "--out", str(tmp_path)])
  assert code == 130 and "kept the 1 of 2 widths" in err
  assert json.loads((tmp_path / "sweep.json").read_text())["parameters"]["widths"] == [8]


def test_ctrl_c_before_any_width_leaves_no_folder_it_made(tmp_path, monkeypatch):
  _interrupt_at(monkeypatch, 0)
  out = tmp_path / "new" / "report"
  code, _, err = _run(["sweep", *TINY, "--out", str(out)])
  assert code == 130 and "nothing written" in err and not out.exists()


@pytest.mark.slow
def test_program_cache_is_on_by_default_and_off_with_no_cache(tmp_path, monkeypatch):
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
  argv = ["sweep", "--schemes", "lecun_normal", "--activations", "tanh", "--depths", "3", "--widths", "6",
          "--batch", "2", "--seeds", "1", "--format", "json", "--out", str(tmp_path / "out")]
  code, out, _ = _run(argv)
  assert code == 0
  cache = tmp_path / "xdg" / "jaxinit" / "programs"
  assert json.loads(out)["cache_dir"] == str(cache)
  assert len(list(cache.glob("*.bin"))) == 1, "the width's program was not kept on disk"
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other"))
  code, out, _ = _run([*argv[:-2], "--out", str(tmp_path / "out2"), "--no-cache", "--widths", "8"])
  assert code == 0 and json.loads(out)["cache_dir"] is None and not (tmp_path / "other").exists()


@pytest.mark.slow
def test_leaky_relu_slope_on_the_command_line(tmp_path):
  argv = ["sweep", "--schemes", "he_normal", "--activations", "leaky_relu:0.2,relu", "--depths", "4",
          "--widths", "16", "--batch", "4", "--seeds", "1", "--format", "json", "--no-cache", "--out", str(tmp_path)]
  code, _, _ = _run(argv)
  assert code == 0
  rows = {r["activation"] for r in json.loads((tmp_path / "sweep.json").read_text())["configurations"]}
  assert rows == {"leaky_relu(0.2)", "relu"}


def _file_under_a_file(tmp_path):
  blocker = tmp_path / "file.txt"
  blocker.write_text("x")
  return str(blocker / "sub")


BAD_INPUT = [
    (["sweep", "--schemes", "he_normal,nope"], "--schemes 'he_normal,nope': unknown scheme 'nope'"),
    (["sweep", "--activations", "relu,bogus"], "--activations 'relu,bogus': unknown activation 'bogus'"),
    (["sweep", "--activations", "tanh:0.2"], "--activations 'tanh:0.2': 'tanh' takes no parameter"),
    (["sweep", "--activations", "leaky_relu:x"], "--activations 'leaky_relu:x': 'x' is not a number"),
    (["sweep", "--activations", "leaky_relu:0.2,leaky_relu:0.2"], "repeats an activation"),
    (["sweep", "--widths", "0,32"], "--widths '0,32': every value must be >= 1"),
    (["sweep", "--widths", "-8"], "--widths '-8': every value must be >= 1"),
    (["sweep", "--depths", "10:1"], "--depths '10:1': range '10:1' is empty"),
    (["sweep", "--depths", ""], "--depths '': is empty"),
    (["sweep", "--depths", "1:x"], "--depths '1:x': 'x' is not an integer"),
    (["sweep", "--depths", "1:8:0"], "--depths '1:8:0': step 0 must be >= 1"),
    (["sweep", "--widths", "32,,64"], "--widths '32,,64': has an empty entry"),
    (["sweep", "--batch", "1"], "--batch '1': must be an integer >= 2"),
    (["sweep", "--batch", "abc"], "--batch 'abc': not an integer"),
    (["sweep", "--seeds", "0"], "--seeds '0': must be an integer >= 1"),
    (["sweep", "--bias-std", "-1"], "--bias-std '-1': must be >= 0"),
    (["sweep", "--bias-std", "1e"], "--bias-std '1e': not a number"),
    (["sweep", "--branch-scale", "inf"], "--branch-scale 'inf': must be finite"),
    (["sweep", "--input-correlation", "1"], "--input-correlation '1': must be in [0, 1)"),
    (["sweep", "--devices", "999"], "--devices '999': only"),
    (["sweep", "--schemes", "dirac"], "--schemes 'dirac': dirac: shape=(32, 32) has rank 2"),
    (["sweep", "--engine", "gaussian"], "--engine 'gaussian': samples X W exactly only for Gaussian weights"),
    (["sweep", "--engine", "fast"], "argument --engine: invalid choice: 'fast'"),
    (["sweep", "--out", None], "cannot write there"),
    (["theory", "--sigma-w2", "4:1"], "--sigma-w2 '4:1': range is empty"),
    (["theory", "--sigma-w2", "1,x"], "--sigma-w2 '1,x': 'x' is not a number"),
    (["theory", "--sigma-w2=-1:2"], "--sigma-w2 '-1:2': '-1' must be >= 0"),
    (["theory", "--activation", "nope"], "--activation 'nope': unknown activation 'nope'"),
    (["theory", "--sigma-b2", "-0.1"], "--sigma-b2 '-0.1': must be >= 0"),
    (["gains", "--activations", "relu,foo"], "--activations 'relu,foo': unknown activation 'foo'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUT, ids=[" ".join(map(str, a)) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path):
  argv = [_file_under_a_file(tmp_path) if a is None else a for a in argv]
  if "--out" not in argv and argv[0] in ("sweep", "theory"):
    argv += ["--out", str(tmp_path / "out")]
  code, out, err = _run([*argv, "--no-cache"])
  assert code == 2
  assert out == ""
  lines = err.strip().splitlines()
  assert len(lines) == 1, err
  assert lines[0].startswith("jaxinit: error: ") and message in lines[0], lines[0]


def test_depth_ranges():
  assert _common.parse_int_list("1:4", "--depths", 1) == (1, 2, 3, 4)
  assert _common.parse_int_list("1:9:4,16, 2", "--depths", 1) == (1, 2, 5, 9, 16)
  assert _common.parse_int_list("8", "--depths", 1) == (8,)
  assert _common.parse_float_grid("1:2", "--sigma-w2", 3) == (1.0, 1.5, 2.0)
  assert _common.parse_float_grid("1:2:0.25", "--sigma-w2", 3) == (1.0, 1.25, 1.5, 1.75, 2.0)


# ------------------------------------------------------------------------------------ theory, gains

@pytest.mark.slow
def test_theory_json_and_figure(tmp_path):
  code, out, _ = _run(["theory", "--sigma-w2", "1,2,3", "--format", "json", "--out", str(tmp_path), "--no-cache"])
  assert code == 0
  doc = json.loads(out)
  assert doc["activation"] == "tanh" and doc["sigma_b2"] == 0.05
  # the critical sigma_w^2 of tanh at sigma_b^2 = 0.05 (Schoenholz et al., Deep Information Propagation, 2017)
  assert abs(doc["edge_of_chaos"]["sigma_w2"] - 1.761) < 1e-3
  assert [r["phase"] for r in doc["rows"]] == ["ordered", "chaotic", "chaotic"]
  chi = [r["chi1"] for r in doc["rows"]]
  assert chi == sorted(chi) and chi[0] < 1 < chi[1]
  assert doc["rows"][0]["c_star"] == pytest.approx(1.0)
  image = matplotlib.image.imread(tmp_path / "theory_tanh.png")
  assert image.shape[0] > 200 and image.std() > 0


@pytest.mark.slow
def test_theory_table_marks_the_edge(tmp_path, capsys):
  assert main(["theory", "--sigma-w2", "1:4", "--points", "7", "--out", str(tmp_path), "--no-cache"]) == 0
  out = capsys.readouterr().out
  assert "edge of chaos" in out and "1.7610" in out and "6 xi_c" in out


@pytest.mark.slow
def test_gains_json(capsys):
  assert main(["gains", "--activations", "relu,tanh,gelu,selu", "--format", "json", "--no-cache"]) == 0
  rows = {r["activation"]: r for r in json.loads(capsys.readouterr().out)}
  assert rows["relu"]["torch_gain"] == pytest.approx(2 ** 0.5) and rows["relu"]["gain"] == pytest.approx(2 ** 0.5)
  assert rows["relu"]["edge_sigma_w"] == pytest.approx(2 ** 0.5)
  assert rows["tanh"]["torch_gain"] == pytest.approx(5 / 3) and rows["tanh"]["gain"] == pytest.approx(1.5925, abs=1e-4)
  assert rows["tanh"]["edge_sigma_w"] == pytest.approx(1.0, abs=1e-6)
  assert rows["gelu"]["torch_gain"] is None
  assert rows["selu"]["gain"] == pytest.approx(1.0) and "lecun_normal" in rows["selu"]["use"]
  assert "he_normal" in rows["relu"]["use"]


def test_gains_table(capsys):
  assert main(["gains", "--activations", "relu,softplus", "--no-cache"]) == 0
  out = capsys.readouterr().out
  assert "1.4142" in out and "he_normal" in out and "softplus" in out and " - " in out
