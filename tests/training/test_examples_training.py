"""The trainability and muP examples run their --quick grids in-process, return 0 and write their figures."""

import importlib.util
from pathlib import Path

import matplotlib.image
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str):
  spec = importlib.util.spec_from_file_location(f"jaxinit_example_{name}", EXAMPLES / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def _check_figure(path: Path) -> None:
  image = matplotlib.image.imread(path)
  assert image.shape[0] > 200 and image.std() > 0


@pytest.mark.slow
def test_trainability_example_quick(tmp_path, capsys):
  assert _load("trainability").main(["--quick", "--out", str(tmp_path)]) == 0  # 0: He 2015 reproduced
  out = capsys.readouterr().out
  assert "2/fan_in" in out and "6 xi_c" in out
  for name in ("trainability_he2015.png", "trainability.png", "trainability_heatmap.png"):
    _check_figure(tmp_path / name)


@pytest.mark.slow
def test_mup_transfer_example_quick(tmp_path, capsys):
  assert _load("mup_transfer").main(["--quick", "--out", str(tmp_path)]) == 0
  lines = capsys.readouterr().out.splitlines()
  rows = [line.split() for line in lines if line.strip().split(" ")[0].isdigit()]
  best_mup = {row[2] for row in rows}
  assert len(rows) == 2 and len(best_mup) == 1  # under muP the best rate is the same at both widths
  _check_figure(tmp_path / "mup_transfer.png")
