"""The command line, called in-process through main(argv)."""

import json
import subprocess
import sys

import jaxinit
from jaxinit._cli import main


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
  for row in rows:  # every catalogued scheme is a public factory or initializer
    assert hasattr(jaxinit, row["name"])


def test_bad_command_exits_2(capsys):
  assert main(["frobnicate"]) == 2
  assert "invalid choice" in capsys.readouterr().err


def test_python_dash_m():
  proc = subprocess.run([sys.executable, "-m", "jaxinit", "schemes", "--format", "json"], capture_output=True,
                        text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr
  assert json.loads(proc.stdout)
