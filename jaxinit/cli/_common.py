"""What every command shares: option parsing that names the option and its value, the report folder,
the compilation cache and the console.

A command's bad input raises :class:`CliError` (a ``ValueError``); the dispatcher prints it as
one line, ``jaxinit: error: ...``, and exits with status 2.
"""

import argparse
import math
import os
import sys
import time
from pathlib import Path

from rich.console import Console

from jaxinit.core import _activations

DEFAULT_OUT = "jaxinit-report"
EXIT_INTERRUPTED = 130


_LOADED_AT = time.perf_counter()  # a fallback for process_seconds where /proc is not there


def process_seconds() -> float:
  """Seconds since this process started, as a stopwatch started with the command reads (to 10 ms):
  from ``/proc`` where it exists, else since the command line's code was imported."""
  try:
    with open("/proc/self/stat") as f:
      started = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime, in clock ticks after boot
    with open("/proc/uptime") as f:
      uptime = float(f.read().split()[0])
    return max(0.0, uptime - started / os.sysconf("SC_CLK_TCK"))
  except (OSError, ValueError, IndexError):
    return time.perf_counter() - _LOADED_AT


class CliError(ValueError):
  """Bad input on the command line: printed as one line, exit status 2."""


def add_format(parser: argparse.ArgumentParser, help: str | None = None) -> None:
  parser.add_argument("--format", choices=("table", "json"), default="table", help=help)


def add_no_cache(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--no-cache", action="store_true", help="do not use the persistent compilation cache")


# ---------------------------------------------------------------------------------- option parsing

def parse_int(text: str, option: str, minimum: int) -> int:
  try:
    value = int(str(text).strip())
  except ValueError:
    raise CliError(f"{option} {text!r}: not an integer") from None
  if value < minimum:
    raise CliError(f"{option} {text!r}: must be an integer >= {minimum}")
  return value


def parse_float(text: str, option: str, minimum: float | None = None, whole: str | None = None) -> float:
  """A finite float; ``whole`` is the option's full value when ``text`` is one item of a list."""
  where = f"{option} {text!r}:" if whole is None else f"{option} {whole!r}: {str(text).strip()!r}"
  try:
    value = float(str(text).strip())
  except ValueError:
    raise CliError(f"{where} {'not' if whole is None else 'is not'} a number") from None
  if not math.isfinite(value):
    raise CliError(f"{where} must be finite")
  if minimum is not None and value < minimum:
    raise CliError(f"{where} must be >= {minimum:g}")
  return value


def parse_items(text: str, option: str) -> list[str]:
  items = [s.strip() for s in str(text).split(",")]
  if not any(items):
    raise CliError(f"{option} {text!r}: is empty")
  if not all(items):
    raise CliError(f"{option} {text!r}: has an empty entry")
  return items


def parse_int_list(text: str, option: str, minimum: int) -> tuple[int, ...]:
  """Ints from ``1,2,4``, inclusive ranges ``1:128`` and stepped ranges ``1:128:2``, sorted, deduplicated."""
  values: set[int] = set()
  for item in parse_items(text, option):
    parts = item.split(":")
    if len(parts) > 3:
      raise CliError(f"{option} {text!r}: {item!r} is not START:STOP or START:STOP:STEP")
    nums = []
    for p in parts:
      try:
        nums.append(int(p.strip()))
      except ValueError:
        raise CliError(f"{option} {text!r}: {p.strip()!r} is not an integer") from None
    if len(nums) == 1:
      values.add(nums[0])
      continue
    start, stop, step = (*nums, 1) if len(nums) == 2 else nums
    if step < 1:
      raise CliError(f"{option} {text!r}: step {step} must be >= 1")
    if start > stop:
      raise CliError(f"{option} {text!r}: range {item!r} is empty (start {start} > stop {stop})")
    values.update(range(start, stop + 1, step))
  low = min(values)
  if low < minimum:
    raise CliError(f"{option} {text!r}: every value must be >= {minimum} (got {low})")
  return tuple(sorted(values))


def parse_float_grid(text: str, option: str, points: int) -> tuple[float, ...]:
  """Floats from ``1,2,3``, ``1:4`` (``points`` evenly spaced, inclusive) or ``1:4:0.5`` (stepped)."""
  import numpy as np

  items = parse_items(text, option)
  if len(items) == 1 and ":" in items[0]:
    parts = items[0].split(":")
    if len(parts) > 3:
      raise CliError(f"{option} {text!r}: not START:STOP or START:STOP:STEP")
    nums = [parse_float(p, option, 0.0, whole=text) for p in parts]
    start, stop = nums[0], nums[1]
    if start >= stop:
      raise CliError(f"{option} {text!r}: range is empty (start {start:g} >= stop {stop:g})")
    if len(nums) == 2:
      return tuple(float(v) for v in np.linspace(start, stop, points))
    step = nums[2]
    if step <= 0:
      raise CliError(f"{option} {text!r}: step must be > 0")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > 100_000:
      raise CliError(f"{option} {text!r}: {count} points; at most 100000")
    return tuple(float(start + i * step) for i in range(count))
  values = sorted({parse_float(v, option, 0.0, whole=text) for v in items})
  return tuple(values)


def parse_names(text: str, option: str, known, kind: str) -> tuple[str, ...]:
  names = parse_items(text, option)
  for name in names:
    if name not in known:
      raise CliError(f"{option} {text!r}: unknown {kind} {name!r}; expected one of {', '.join(known)}")
  if len(set(names)) != len(names):
    raise CliError(f"{option} {text!r}: repeats a name")
  return tuple(names)


def parse_scheme_names(text: str, option: str) -> tuple[str, ...]:
  """Scheme names, schemes with arguments included (``edge_of_chaos:tanh,0.05``), each checked."""
  from jaxinit.initializers import _catalog

  names = _catalog.split_names(text)
  for name in names:
    if ":" not in name and name not in _catalog.SCHEME_NAMES:
      forms = ", ".join(p.form for p in _catalog.PARAMETRISED.values())
      raise CliError(f"{option} {text!r}: unknown scheme {name!r}; expected one of "
                     f"{', '.join(_catalog.SCHEME_NAMES)}, or {forms}")
    try:
      _catalog.lookup(name, where=option)
    except ValueError as e:
      raise CliError(f"{option} {text!r}: {str(e).removeprefix(option + ': ')}") from None
  if len(set(names)) != len(names):
    raise CliError(f"{option} {text!r}: repeats a name")
  return tuple(names)


def parse_activation_names(text: str, option: str) -> tuple[str, ...]:
  return parse_names(text.lower(), option, _activations.ACTIVATION_NAMES, "activation")


def parse_sweep_activations(text: str, option: str) -> tuple:
  """Names, or ``leaky_relu:SLOPE`` for a leaky ReLU of that negative slope (label ``leaky_relu(SLOPE)``)."""
  out = []
  for item in parse_items(text.lower(), option):
    name, sep, param = item.partition(":")
    if name not in _activations.ACTIVATION_NAMES:
      raise CliError(f"{option} {text!r}: unknown activation {name!r}; expected one of "
                     f"{', '.join(_activations.ACTIVATION_NAMES)}")
    if not sep:
      out.append(name)
      continue
    if name not in ("leaky_relu", "leaky-relu"):
      raise CliError(f"{option} {text!r}: {name!r} takes no parameter (only leaky_relu:SLOPE does)")
    slope = parse_float(param, option, whole=text)
    out.append(_activations.resolve(name, slope, where=option)._replace(name=f"leaky_relu({slope:g})"))
  labels = [a if isinstance(a, str) else a.name for a in out]
  if len(set(labels)) != len(labels):
    raise CliError(f"{option} {text!r}: repeats an activation")
  return tuple(out)


def out_dir(text: str) -> Path:
  """The report folder, created, with a probe file written and removed to prove it is writable."""
  path = Path(text).expanduser()
  try:
    path.mkdir(parents=True, exist_ok=True)
    probe = path / f".jaxinit-write-test-{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()
  except OSError as e:
    raise CliError(f"--out {text!r}: cannot write there ({e.strerror or e})") from None
  return path


# ---------------------------------------------------------------------------------- compilation cache

def cache_dir() -> Path:
  """The persistent compilation cache: ``$XDG_CACHE_HOME/jaxinit/jax`` or ``~/.cache/jaxinit/jax``."""
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return Path(base) / "jaxinit" / "jax"


def programs_dir() -> Path:
  """Where ``jaxinit sweep`` keeps its compiled programs: ``$XDG_CACHE_HOME/jaxinit/programs``."""
  return cache_dir().parent / "programs"


def configure_cache(enabled: bool, err: Console) -> Path | None:
  """Turns jax's persistent compilation cache on (every CPU compile too) or off; must run before compiling."""
  import jax
  from jax.experimental.compilation_cache import compilation_cache

  path = cache_dir() if enabled else None
  if path is not None:
    try:
      path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
      err.print(f"jaxinit: warning: compilation cache off; cannot create {path} ({e.strerror or e})")
      path = None
  if path is None:
    jax.config.update("jax_enable_compilation_cache", False)
  else:
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
  compilation_cache.reset_cache()  # a process that compiled before picks up the new setting
  return path


def stdout_console() -> Console:
  """Rich on stdout; piped or captured output gets 160 columns rather than rich's 80 (COLUMNS still wins)."""
  if sys.stdout.isatty() or "COLUMNS" in os.environ:
    return Console()
  return Console(width=160)
