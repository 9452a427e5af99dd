"""`jaxinit train` through its command protocol: parser, add_arguments, parse, run; the files it writes."""

import argparse
import io
import json

import pytest
from rich.console import Console

from jaxinit.cli import _train


def _args(argv):
  parser = argparse.ArgumentParser(prog=f"jaxinit {_train.NAME}", description=_train.HELP)
  _train.add_arguments(parser)
  return parser.parse_args(argv)


@pytest.mark.slow
def test_train_writes_report_and_json(tmp_path):
  out = tmp_path / "report"
  args = _args(["--schemes", "he_normal", "--activations", "relu", "--depths", "1:2", "--widths", "8",
                "--steps", "5", "--seeds", "1", "--batch", "16", "--lr", "0.01,1e30", "--out", str(out),
                "--format", "json"])
  buf = io.StringIO()
  assert _train.run(args, Console(file=buf, width=200)) == 0
  summary = json.loads(buf.getvalue())
  assert summary["parameters"]["learning_rates"] == [0.01, 1e30]
  assert [row["verdicts"]["diverges"] for row in summary["summary"]] == [0, 2]  # per rate, over 2 depths
  names = {p.name for p in out.iterdir()}
  assert names == {"trainability.json", "trainability.csv", "heatmap_trainability.png", "index.html"}
  assert "trains to depth" in (out / "index.html").read_text()
  assert len((out / "trainability.csv").read_text().splitlines()) == 1 + 2 * 2


BAD = [
    (["--schemes", "he_normal,nope"], "--schemes 'he_normal,nope': unknown scheme 'nope'"),
    (["--activations", "relu,relu"], "repeats a name"),
    (["--depths", "8:2"], "--depths '8:2'"),
    (["--depths", "0,2"], "must be >= 1"),
    (["--widths", "x"], "--widths 'x': 'x' is not an integer"),
    (["--steps", "0"], "--steps '0': must be an integer >= 1"),
    (["--seeds", "-1"], "--seeds '-1'"),
    (["--lr", "0.1,-1"], "--lr '0.1,-1': '-1' must be >= 0"),
    (["--lr", "abc"], "'abc' is not a number"),
    (["--sigma-w2", "1:4:0"], "--sigma-w2 '1:4:0'"),
    (["--bias-std", "-0.5"], "--bias-std '-0.5'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_options_raise_value_error_naming_the_option(argv, message, tmp_path, monkeypatch):
  import jaxinit

  monkeypatch.setattr(jaxinit, "trainability", lambda **kw: pytest.fail("trained before rejecting bad input"))
  with pytest.raises(ValueError) as info:
    _train.run(_args([*argv, "--out", str(tmp_path)]), Console(file=io.StringIO()))
  assert message in str(info.value)


def test_sigma_w2_grid_option():
  kwargs = _train.options(_args(["--sigma-w2", "1:2:0.5", "--activations", "tanh"]))
  assert kwargs["sigma_w2"] == (1.0, 1.5, 2.0) and kwargs["schemes"] is None
