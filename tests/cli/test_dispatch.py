"""The dispatcher and its command protocol; errors while running or writing are one line and exit 2."""

import contextlib
import errno
import io
import json
import types

import jax
import pytest
from jax.experimental.compilation_cache import compilation_cache

from jaxinit.cli import COMMANDS, CliError, _main
from jaxinit.cli._main import main

_CACHE_OPTIONS = ("jax_enable_compilation_cache", "jax_compilation_cache_dir",
                  "jax_persistent_cache_min_compile_time_secs", "jax_persistent_cache_min_entry_size_bytes")


@pytest.fixture(autouse=True)
def _restore_compilation_cache():
  saved = {name: jax.config.values[name] for name in _CACHE_OPTIONS}
  yield
  for name, value in saved.items():
    jax.config.update(name, value)
  compilation_cache.reset_cache()


def _run(argv):
  out, err = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    code = main(argv)
  return code, out.getvalue(), err.getvalue()


def test_every_command_module_follows_the_protocol():
  assert [c.NAME for c in COMMANDS] == ["sweep", "theory", "gains", "schemes", "recommend", "diagnose", "train"]
  for command in COMMANDS:
    assert isinstance(command.NAME, str) and isinstance(command.HELP, str)
    assert callable(command.add_arguments) and callable(command.run)
  assert issubclass(CliError, ValueError)


def _command(error):
  def run(args, console):
    console.print("partial output")
    raise error
  return types.SimpleNamespace(NAME="probe", HELP="raises", add_arguments=lambda p: p.add_argument("--x"),
                               run=run)


@pytest.mark.parametrize(("error", "line"), [
    (CliError("--x 'y': bad"), "jaxinit: error: --x 'y': bad"),
    (ValueError("probe: x='y' must be z"), "jaxinit: error: probe: x='y' must be z"),
    (OSError(errno.ENOSPC, "No space left on device", "/r/a.json"),
     "jaxinit: error: cannot write /r/a.json: No space left on device"),
])
def test_a_new_command_gets_one_error_line_and_exit_2(monkeypatch, error, line):
  monkeypatch.setattr(_main, "COMMANDS", (*COMMANDS, _command(error)))
  code, _, err = _run(["probe", "--x", "y"])
  assert code == 2 and err.strip().splitlines() == [line]


TINY = ["--schemes", "he_normal", "--activations", "relu", "--depths", "1:3", "--widths", "8", "--seeds", "1",
        "--no-cache"]


@pytest.mark.parametrize("batch", ["3", "5"])
def test_odd_batch_is_one_line_naming_the_option(tmp_path, batch):
  code, out, err = _run(["sweep", *TINY, "--batch", batch, "--out", str(tmp_path)])
  assert code == 2 and out == ""
  assert err.strip().splitlines() == [f"jaxinit: error: --batch '{batch}': must be even: inputs come in "
                                      "pairs (rows 2i and 2i + 1) whose correlation the sweep measures"]


@pytest.mark.slow
def test_a_full_disk_is_one_line_exit_2_and_no_partial_file(tmp_path, full_disk):
  # the writer fails half-way through sweep.json; a report from an earlier run is left as it was
  (tmp_path / "sweep.json").write_text('{"earlier": true}')
  code, _, err = _run(["sweep", *TINY, "--batch", "4", "--out", str(tmp_path)])
  assert code == 2
  errors = [line for line in err.splitlines() if line.startswith("jaxinit:")]
  assert errors == [f"jaxinit: error: cannot write {tmp_path / 'sweep.json'}: No space left on device"]
  assert "Traceback" not in err
  assert json.loads((tmp_path / "sweep.json").read_text()) == {"earlier": True}
  assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.json"]
