"""Every example runs its --quick grid in-process, returns 0, prints its comparison and writes its figure."""

import importlib.util
from pathlib import Path

import matplotlib.image
import pytest

pytestmark = pytest.mark.slow  # every example and README block runs: minutes, not seconds

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FIGURES = {
    "flax_kernel_init": "layer",
    "edge_of_chaos": "xi_c theory",
    "he2015_depth30": "predicted",
    "finite_width": "var sim",
    "dynamical_isometry": "Var/mean^2 sim",
}


def _load(name: str):
  spec = importlib.util.spec_from_file_location(f"jaxinit_example_{name}", EXAMPLES / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_example_quick(name, tmp_path, capsys):
  assert _load(name).main(["--quick", "--out", str(tmp_path)]) == 0
  out = capsys.readouterr().out
  assert FIGURES[name] in out
  figure = tmp_path / f"{name}.png"
  assert figure.stat().st_size > 0
  image = matplotlib.image.imread(figure)
  assert image.shape[0] > 200 and image.std() > 0
