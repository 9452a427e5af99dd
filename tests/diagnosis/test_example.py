"""examples/diagnose_and_calibrate.py runs --quick, finds the broken model's warnings and none after the fix."""

import importlib.util
from pathlib import Path

import matplotlib.image
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "diagnose_and_calibrate.py"


@pytest.mark.slow
def test_example_quick(tmp_path, capsys):
  spec = importlib.util.spec_from_file_location("jaxinit_example_diagnose_and_calibrate", EXAMPLE)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  assert module.main(["--quick", "--out", str(tmp_path)]) == 0
  out = capsys.readouterr().out
  assert "[fan_layout] blocks/0/attn/qkv_einsum" in out and "[residual_growth] blocks" in out
  assert "warnings before: 4, after: 0" in out
  for name in ("before", "after"):
    image = matplotlib.image.imread(tmp_path / f"diagnose_and_calibrate_{name}.png")
    assert image.shape[0] > 200 and image.std() > 0
