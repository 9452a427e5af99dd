"""``python -m jaxinit``: the command line."""

from jaxinit.cli._main import main_entry

if __name__ == "__main__":
  main_entry()
