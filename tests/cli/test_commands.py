"""`--version`, a bare `jaxinit` lists the commands, recommend's errors, and the theory table's phases."""

import json

import pytest

import jaxinit
from jaxinit.cli import _main, main


def test_version(capsys):
  assert main(["--version"]) == 0
  assert capsys.readouterr().out.strip() == f"jaxinit {jaxinit.__version__}"


def test_bare_jaxinit_lists_the_commands(capsys):
  assert main([]) == 2
  err = capsys.readouterr().err
  for command in _main.COMMANDS:
    assert command.NAME in err


@pytest.mark.parametrize("argv, message", [
    (["recommend", "--activation", "relu", "--depth", "0", "--no-simulate"], "--depth=0"),
    (["recommend", "--activation", "swish9", "--depth", "3", "--no-simulate"], "--activation='swish9'"),
])
def test_recommend_errors_are_one_line(argv, message, capsys):
  assert main(argv) == 2
  err = capsys.readouterr().err
  assert err.startswith("jaxinit: error: ") and message in err and err.count("\n") == 1


@pytest.mark.slow
def test_theory_table_reads_the_length_map_first(tmp_path, capsys, monkeypatch):
  monkeypatch.setenv("COLUMNS", "200")  # one table row a line, whatever the terminal
  assert main(["theory", "--activation", "relu", "--sigma-w2", "1:3", "--points", "5", "--out", str(tmp_path)]) == 0
  out = capsys.readouterr().out
  rows = [line for line in out.splitlines() if line.startswith("│")]
  assert sum("2.0000 " in line for line in rows) == 1  # the edge is a grid point: one row, not two
  assert "q diverges (x1.5 a layer)" in out and "chaotic" not in out  # q* = inf above sigma_w^2 = 2
  assert main(["theory", "--activation", "gelu", "--sigma-b2", "0", "--sigma-w2", "1,2,3", "--out", str(tmp_path),
               "--format", "json"]) == 0
  doc = json.loads(capsys.readouterr().out)
  assert doc["edge_of_chaos"]["sigma_w2"] is None
  assert [r["phase"] for r in doc["rows"]][0] == "q -> 0 (the signal dies)"
  assert doc["rows"][2]["phase"].startswith("q diverges")


@pytest.mark.slow
def test_gains_does_not_offer_a_depth_stable_init_where_the_theory_has_none(capsys):
  assert main(["gains", "--activations", "gelu,silu,mish,relu", "--format", "json"]) == 0
  use = {r["activation"]: r["use"] for r in json.loads(capsys.readouterr().out)}
  for name in ("gelu", "silu", "mish"):
    assert "no plain-MLP init holds" in use[name]
    assert jaxinit.recommend(name, depth=100, simulate=False).choice is None  # the theory agrees
  assert use["relu"].startswith("he_normal")
