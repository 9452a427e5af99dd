"""Every code block of README.md runs as written.

Python blocks are executed one by one, each in a fresh namespace, in a temporary working folder.
In shell blocks every ``jaxinit ...`` line runs through ``jaxinit.cli.main``; the set-up lines
(``pip install ... && jaxinit sweep``) and the bare default ``jaxinit sweep`` are what ``.ci/run`` executes
verbatim, which the last test checks.
"""

import re
import shlex
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every example and README block runs: minutes, not seconds

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", README, flags=re.M | re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
SHELL = [code for lang, code in BLOCKS if lang in ("bash", "sh", "console")]
SETUP = [line for code in SHELL for line in code.splitlines() if line.startswith("pip install")]


def _commands():
  """The ``jaxinit`` command lines of the shell blocks, comments stripped, set-up lines left out.

  A comment that says ``(exit 1)`` documents the exit status the command line must return.
  """
  out = []
  for code in SHELL:
    for full in code.splitlines():
      line, _, comment = (part.strip() for part in full.partition("#"))
      # the bare default sweep is the set-up command's main job, which .ci/run executes verbatim
      if (line.startswith("jaxinit ") or line == "jaxinit") and line != "jaxinit sweep":
        out.append(pytest.param(line, 1 if "(exit 1)" in comment else 0, id=line))
  return out


def test_readme_has_blocks():
  assert len(PYTHON) >= 2 and len(SETUP) == 2


@pytest.mark.parametrize("index", range(len(PYTHON)))
def test_python_block_runs(index, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  exec(compile(PYTHON[index], f"README.md python block {index}", "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize("command, status", _commands())
def test_shell_command_runs(command, status, tmp_path, monkeypatch):
  from jaxinit.cli import main

  (tmp_path / "examples").symlink_to(ROOT / "examples")  # commands name files as from the repository's root
  monkeypatch.chdir(tmp_path)
  assert main(shlex.split(command)[1:]) == status


def test_ci_runs_the_setup_commands_verbatim():
  ci = (ROOT / ".ci" / "run").read_text().splitlines()
  for line in SETUP:
    assert line in ci, f".ci/run does not run the README's set-up command {line!r}"


def test_the_documented_fast_subset_leaves_out_what_compiles_whole_programs():
  import subprocess
  import sys

  assert '`pytest -m "not slow"`' in README
  proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-m", "not slow", "-p", "no:cacheprovider",
                         "-n", "0"], cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
  selected, total = map(int, re.search(r"(\d+)/(\d+) tests collected", proc.stdout).groups())
  assert 300 < selected < total
  ids = [line for line in proc.stdout.splitlines() if "::" in line]
  for heavy in ("tests/test_examples.py", "tests/test_readme.py", "jaxinit/sweep/_sweep.py::", "jaxinit/training/"):
    assert not any(i.startswith(heavy) for i in ids), heavy
  assert any(i.startswith("tests/initializers/") for i in ids) and any(i.startswith("tests/theory/") for i in ids)
