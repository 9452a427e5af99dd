"""The dispatcher: every command module is wired in, `--version`, and a bare `jaxinit` lists the commands."""

import pytest

import jaxinit
from jaxinit.cli import _main, main


def test_every_command_module_is_a_subcommand():
  names = [c.NAME for c in _main.COMMANDS]
  assert names == ["sweep", "theory", "gains", "schemes", "recommend", "diagnose", "train"]
  for command in _main.COMMANDS:
    assert command.HELP and callable(command.add_arguments) and callable(command.run)


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
