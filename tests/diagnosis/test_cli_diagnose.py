"""`jaxinit diagnose`: the command protocol, exit statuses, JSON, calibration file, one-line errors."""

import argparse
import io
import json

import numpy as np
import pytest
from flax import nnx, serialization
from rich.console import Console

from jaxinit.cli import _diagnose

MODELS = '''
import jax
import jaxinit
from flax import linen as nn
from flax import nnx


def healthy():
  return nnx.Sequential(nnx.Linear(8, 16, kernel_init=jaxinit.he_normal(), rngs=nnx.Rngs(0)), nnx.relu,
                        nnx.Linear(16, 4, rngs=nnx.Rngs(1)))


def zeros():
  return nnx.Sequential(nnx.Linear(8, 16, kernel_init=jaxinit.zeros, rngs=nnx.Rngs(0)), nnx.relu,
                        nnx.Linear(16, 4, rngs=nnx.Rngs(1)))


def linen():
  module = nn.Dense(4)
  return module, module.init(jax.random.key(0), jax.numpy.ones((1, 8)))


def broken():
  raise RuntimeError("no weights today")


def not_a_model():
  return 3
'''


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
  path = tmp_path_factory.mktemp("models") / "models.py"
  path.write_text(MODELS)
  return path


def _run(argv):
  parser = argparse.ArgumentParser(prog="jaxinit diagnose")
  _diagnose.add_arguments(parser)
  buffer = io.StringIO()
  status = _diagnose.run(parser.parse_args(argv), Console(file=buffer, width=200, color_system=None))
  return status, buffer.getvalue()


def test_protocol():
  assert _diagnose.NAME == "diagnose" and _diagnose.HELP


@pytest.mark.slow
def test_healthy_exits_0_with_table(model_file):
  status, out = _run([f"{model_file}:healthy", "--input-shape", "32,8"])
  assert status == 0 and "layers/0" in out and "no warnings" in out


@pytest.mark.slow
def test_warnings_exit_1_and_json(model_file):
  status, out = _run([f"{model_file}:zeros", "--input-shape", "32,8", "--format", "json"])
  data = json.loads(out)
  assert status == 1 and data["warnings"][0]["code"] == "zero_variance"
  assert [r["fan_in"] for r in data["rows"]] == [8, 16]


@pytest.mark.slow
def test_calibrate_writes_flax_msgpack(model_file, tmp_path):
  out = tmp_path / "params.msgpack"
  status, text = _run([f"{model_file}:healthy", "--input-shape", "64,8", "--calibrate", str(out)])
  assert status == 0 and f"wrote {out}" in text
  params = serialization.msgpack_restore(out.read_bytes())
  kernel = np.asarray(params["layers"]["0"]["kernel"])
  model = nnx.Sequential(nnx.Linear(8, 16, rngs=nnx.Rngs(0)))
  assert kernel.shape == (8, 16) and not np.array_equal(kernel, model.layers[0].kernel[...])
  assert [p.name for p in tmp_path.iterdir()] == ["params.msgpack"]  # no temporary file left


def test_linen_factory(model_file, tmp_path):
  status, out = _run([f"{model_file}:linen", "--input-shape", "16,8"])
  assert status in (0, 1) and "Dense" in out


@pytest.mark.parametrize("argv, message", [
    (["{f}:healthy", "--input-shape", "32,x"], "--input-shape '32,x': not a comma-separated list"),
    (["{f}:healthy", "--input-shape", "32,8", "--format", "xml"], "--format 'xml'"),
    (["{f}:healthy", "--input-shape", "32,8", "--drift", "0.5"], "--drift '0.5': must be a finite number > 1"),
    (["{f}:healthy", "--input-shape", "32,5"], "layer 'layers/0' (Linear) rejected its input of shape (32, 5)"),
    (["missing.py:make", "--input-shape", "32,8"], "file 'missing.py' does not exist"),
    (["{f}:nothing", "--input-shape", "32,8"], "has no function 'nothing'"),
    (["{f}:broken", "--input-shape", "32,8"], "broken() raised RuntimeError: no weights today"),
    (["{f}:not_a_model", "--input-shape", "32,8"], "returned int"),
    (["{f}:healthy", "--input-shape", "32,8", "--input-dtype", "int32"], "--vocab: required"),
])
def test_bad_input_is_a_value_error_naming_the_option(model_file, argv, message):
  with pytest.raises(ValueError) as info:
    _run([a.replace("{f}", str(model_file)) for a in argv])
  assert message in str(info.value)
