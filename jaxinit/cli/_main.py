"""The `jaxinit` command line: sweep, theory, gains and schemes.

Every option is checked before anything compiles; bad input is one line on stderr,
``jaxinit: error: ...`` naming the option and its value, and exit status 2.
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from jaxinit.core import _activations
from jaxinit.initializers import _catalog
from jaxinit.report import _files

DEFAULT_OUT = "jaxinit-report"
SWEEP_SCHEMES = "he_normal,glorot_normal,lecun_normal,orthogonal,torch_default_kernel"
SWEEP_ACTIVATIONS = "relu,tanh,gelu"
SWEEP_DEPTHS = "1:128"
SWEEP_WIDTHS = "32,64,128,256,512"
SWEEP_BATCH = 64
SWEEP_SEEDS = 3
EXIT_INTERRUPTED = 130
# the activations `jaxinit gains` lists: the registry without its aliases (linear, swish)
GAIN_ACTIVATIONS = ("identity", "relu", "leaky_relu", "elu", "selu", "gelu", "gelu_exact", "silu", "softplus",
                    "mish", "tanh", "erf", "sigmoid")


class CliError(Exception):
  """Bad input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
  """argparse whose usage errors are one line, like every other error of the command line."""

  def error(self, message):
    print(f"jaxinit: error: {message}", file=sys.stderr)
    raise SystemExit(2)


# ---------------------------------------------------------------------------------- option parsing

def _int(text: str, option: str, minimum: int) -> int:
  try:
    value = int(str(text).strip())
  except ValueError:
    raise CliError(f"{option} {text!r}: not an integer") from None
  if value < minimum:
    raise CliError(f"{option} {text!r}: must be an integer >= {minimum}")
  return value


def _float(text: str, option: str, minimum: float | None = None, whole: str | None = None) -> float:
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


def _items(text: str, option: str) -> list[str]:
  items = [s.strip() for s in str(text).split(",")]
  if not any(items):
    raise CliError(f"{option} {text!r}: is empty")
  if not all(items):
    raise CliError(f"{option} {text!r}: has an empty entry")
  return items


def _int_list(text: str, option: str, minimum: int) -> tuple[int, ...]:
  """Ints from ``1,2,4``, inclusive ranges ``1:128`` and stepped ranges ``1:128:2``, sorted and deduplicated."""
  values: set[int] = set()
  for item in _items(text, option):
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


def _float_grid(text: str, option: str, points: int) -> tuple[float, ...]:
  """Floats from ``1,2,3``, ``1:4`` (``points`` evenly spaced, inclusive) or ``1:4:0.5`` (stepped)."""
  import numpy as np

  items = _items(text, option)
  if len(items) == 1 and ":" in items[0]:
    parts = items[0].split(":")
    if len(parts) > 3:
      raise CliError(f"{option} {text!r}: not START:STOP or START:STOP:STEP")
    nums = [_float(p, option, 0.0, whole=text) for p in parts]
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
  values = sorted({_float(v, option, 0.0, whole=text) for v in items})
  return tuple(values)


def _names(text: str, option: str, known, kind: str) -> tuple[str, ...]:
  names = _items(text, option)
  for name in names:
    if name not in known:
      raise CliError(f"{option} {text!r}: unknown {kind} {name!r}; expected one of {', '.join(known)}")
  if len(set(names)) != len(names):
    raise CliError(f"{option} {text!r}: repeats a name")
  return tuple(names)


def _activation_names(text: str, option: str) -> tuple[str, ...]:
  return _names(text.lower(), option, _activations.ACTIVATION_NAMES, "activation")


def _sweep_activations(text: str, option: str) -> tuple:
  """Names, or ``leaky_relu:SLOPE`` for a leaky ReLU of that negative slope (labelled ``leaky_relu(SLOPE)``)."""
  out = []
  for item in _items(text.lower(), option):
    name, sep, param = item.partition(":")
    if name not in _activations.ACTIVATION_NAMES:
      raise CliError(f"{option} {text!r}: unknown activation {name!r}; expected one of "
                     f"{', '.join(_activations.ACTIVATION_NAMES)}")
    if not sep:
      out.append(name)
      continue
    if name not in ("leaky_relu", "leaky-relu"):
      raise CliError(f"{option} {text!r}: {name!r} takes no parameter (only leaky_relu:SLOPE does)")
    slope = _float(param, option, whole=text)
    out.append(_activations.resolve(name, slope, where=option)._replace(name=f"leaky_relu({slope:g})"))
  labels = [a if isinstance(a, str) else a.name for a in out]
  if len(set(labels)) != len(labels):
    raise CliError(f"{option} {text!r}: repeats an activation")
  return tuple(out)


def _out_dir(text: str) -> Path:
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
  """Where the JAX persistent compilation cache lives: ``$XDG_CACHE_HOME/jaxinit/jax`` or ``~/.cache/jaxinit/jax``."""
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return Path(base) / "jaxinit" / "jax"


def _configure_cache(enabled: bool, err: Console) -> Path | None:
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


# ---------------------------------------------------------------------------------- sweep

class _SweepProgress:
  """The sweep's ``progress`` callback: one rich bar for compiling, one for running, per width."""

  def __init__(self, bar):
    self.bar = bar
    self.tasks = {}  # added on the first call, so that an early error leaves no empty bars behind

  def __call__(self, phase: str, width: int, done: int, total: int) -> None:
    if not self.tasks:
      self.tasks = {"compile": self.bar.add_task("compile", total=total),
                    "run": self.bar.add_task("run", total=total, start=False)}
    task = self.tasks[phase]
    if phase == "run" and done == 0:
      self.bar.start_task(task)
    if phase == "compile":  # widths may compile in parallel: count them, name none
      label = "compiling" if done < total else "compiled"
    else:
      label = f"running N={width}" if done < total else "ran"
    self.bar.update(task, completed=done, total=total, description=label)


def _sweep_options(args) -> dict:
  """Every sweep option, checked without touching jax."""
  opts = dict(
      schemes=_names(args.schemes, "--schemes", _catalog.SCHEME_NAMES, "scheme"),
      activations=_sweep_activations(args.activations, "--activations"),
      depths=_int_list(args.depths, "--depths", 1),
      widths=_int_list(args.widths, "--widths", 1),
      batch=_int(args.batch, "--batch", 2),
      seeds=_int(args.seeds, "--seeds", 1),
      bias_std=_float(args.bias_std, "--bias-std", 0.0),
      branch_scale=_float(args.branch_scale, "--branch-scale"),
      input_correlation=_float(args.input_correlation, "--input-correlation", 0.0),
      architecture=args.architecture, engine=args.engine)
  if opts["input_correlation"] >= 1.0:
    raise CliError(f"--input-correlation {args.input_correlation!r}: must be in [0, 1)")
  opts["devices"] = None if args.devices is None else _int(args.devices, "--devices", 1)
  opts["seed"] = _int(args.seed, "--seed", 0)
  return opts


def _check_with_jax(opts: dict) -> None:
  """Checks that need jax (device count, each scheme on a dense layer), still before any compile."""
  import jax
  import jax.numpy as jnp

  n_local = len(jax.local_devices())
  if opts["devices"] is not None and opts["devices"] > n_local:
    raise CliError(f"--devices '{opts['devices']}': only {n_local} local device(s)")
  width = opts["widths"][0]
  key = jax.eval_shape(lambda: jax.random.key(0))  # shapes only: nothing runs or compiles
  for name in opts["schemes"]:
    init = _catalog.lookup(name)
    try:
      jax.eval_shape(lambda k, init=init: init(k, (width, width), jnp.float32), key)
    except ValueError as e:
      raise CliError(f"--schemes {name!r}: {e} (the sweep's layers are dense {width} x {width} kernels)") from None


def _cmd_sweep(args, console: Console) -> int:
  from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

  opts = _sweep_options(args)
  _check_with_jax(opts)
  out = _out_dir(args.out)
  err = Console(stderr=True)
  cache = _configure_cache(not args.no_cache, err)
  import jax

  import jaxinit

  devices = None if opts["devices"] is None else jax.local_devices()[:opts["devices"]]
  kwargs = {k: opts[k] for k in ("schemes", "activations", "depths", "widths", "batch", "seeds", "bias_std",
                                 "architecture", "engine", "branch_scale", "input_correlation")}
  start = time.perf_counter()
  columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TextColumn("widths"),
             TimeElapsedColumn())
  try:
    with Progress(*columns, console=err) as bar:
      result = jaxinit.sweep(**kwargs, key=jax.random.key(opts["seed"]), devices=devices,
                             progress=_SweepProgress(bar), keep_partial=True)
  except KeyboardInterrupt:
    err.print("jaxinit: interrupted before any width finished; nothing written")
    return EXIT_INTERRUPTED
  except ValueError as e:
    raise CliError(str(e)) from None
  elapsed = time.perf_counter() - start
  files = _files.write(result, out, elapsed=elapsed, cache=cache)
  if args.format == "json":
    print(json.dumps(_files.summary_json(result, out, files, elapsed, cache), indent=1))
  else:
    result.summary(console)
    console.print(f"wrote {out / 'index.html'} ({', '.join(f.name for f in files if f.name != 'index.html')}) "
                  f"in {elapsed:.1f} s; compilation cache: {cache or 'off'}", soft_wrap=True)
  if result.interrupted:
    done = ", ".join(str(w) for w in result.widths)
    err.print(f"jaxinit: interrupted: kept the {len(result.widths)} of {len(opts['widths'])} widths that finished "
              f"({done}) and wrote them to {out}", soft_wrap=True)
    return EXIT_INTERRUPTED
  return 0


# ---------------------------------------------------------------------------------- theory

def _cmd_theory(args, console: Console) -> int:
  import numpy as np

  (activation,) = _activation_names(args.activation, "--activation")
  param = None if args.param is None else _float(args.param, "--param")
  sigma_b2 = _float(args.sigma_b2, "--sigma-b2", 0.0)
  points = _int(args.points, "--points", 2)
  grid = np.asarray(_float_grid(args.sigma_w2, "--sigma-w2", points))
  rows_shown = _int(args.rows, "--rows", 1)
  try:
    _activations.resolve(activation, param, where="--activation")
  except ValueError as e:
    raise CliError(str(e)) from None
  out = _out_dir(args.out)
  _configure_cache(not args.no_cache, Console(stderr=True))
  from jaxinit.report import _plots
  from jaxinit import theory

  # c* (a 2-D quadrature per point) dominates: the table needs q* and c* only on the rows it shows
  picks = sorted(set(np.linspace(0, len(grid) - 1, min(rows_shown, len(grid))).round().astype(int).tolist()))
  at = np.arange(len(grid)) if args.format == "json" else np.asarray(picks)
  try:
    chi = np.asarray(theory.chi1(activation, grid, sigma_b2, param=param), dtype=float)
    xi_q, xi_c = (np.asarray(a, dtype=float) for a in theory.depth_scales(activation, grid, sigma_b2, param=param))
    edge = theory.edge_of_chaos(activation, sigma_b2, param=param)
    fixed = theory.fixed_point(activation, grid[at], sigma_b2, param=param)
  except ValueError as e:
    raise CliError(str(e)) from None
  q_star, c_star = np.full(len(grid), np.nan), np.full(len(grid), np.nan)
  q_star[at], c_star[at] = (np.asarray(a, dtype=float) for a in fixed)
  edge_w2, edge_q = float(edge.sigma_w2), float(edge.q_star)
  figure = _plots.phase_diagram(grid, chi, xi_c, edge_w2, out / f"theory_{activation}.png",
                                activation=activation, sigma_b2=sigma_b2)
  rows = [dict(sigma_w2=float(w), q_star=float(q), c_star=float(c), chi1=float(x), xi_q=float(a), xi_c=float(b),
               trainable_depth=float(6 * b), phase=_phase(x))
          for w, q, c, x, a, b in zip(grid, q_star, c_star, chi, xi_q, xi_c, strict=True)]
  if args.format == "json":
    doc = {"activation": activation, "param": param, "sigma_b2": sigma_b2,
           "edge_of_chaos": {"sigma_w2": _finite(edge_w2), "q_star": _finite(edge_q)},
           "rows": [{k: _finite(v) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
           "figure": str(figure)}
    print(json.dumps(doc, indent=1))
    return 0
  table = Table(title=f"{activation} at sigma_b^2 = {sigma_b2:g}: trainable while depth < 6 xi_c")
  for name in ("sigma_w^2", "q*", "c*", "chi_1", "xi_q", "xi_c", "6 xi_c", "phase"):
    table.add_column(name, justify="right" if name != "phase" else "left", no_wrap=True)
  edge_row_at = int(np.searchsorted(grid, edge_w2)) if math.isfinite(edge_w2) else -1
  edge_shown = False
  for i in picks:
    if not edge_shown and 0 <= edge_row_at <= i and grid[0] <= edge_w2 <= grid[-1]:
      edge_xi_q = float(theory.depth_scales(activation, edge_w2, sigma_b2, param=param).xi_q)
      table.add_row(f"{edge_w2:.4f}", _fmt(edge_q), "1", "1", _fmt(edge_xi_q), "inf", "inf", "edge of chaos",
                    style="bold")
      edge_shown = True
    r = rows[i]
    table.add_row(f"{r['sigma_w2']:.4f}", _fmt(r["q_star"]), _fmt(r["c_star"]), _fmt(r["chi1"]), _fmt(r["xi_q"]),
                  _fmt(r["xi_c"]), _fmt(r["trainable_depth"]), r["phase"])
  console.print(table)
  where = f"sigma_w^2 = {edge_w2:.4f} (q* = {edge_q:.4g})" if math.isfinite(edge_w2) else "none found"
  console.print(f"edge of chaos: {where}; wrote {figure}", soft_wrap=True)
  return 0


def _phase(chi1: float) -> str:
  if abs(chi1 - 1.0) < 1e-9:
    return "critical"
  return "ordered" if chi1 < 1 else "chaotic"


def _fmt(x: float) -> str:
  if not math.isfinite(x):
    return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
  return f"{x:.4g}"


def _finite(x):
  return float(x) if x is not None and math.isfinite(x) else None


# ---------------------------------------------------------------------------------- gains

_ADVICE = {
    "identity": "lecun_normal; orthogonal() for exact isometry",
    "relu": 'he_normal = for_activation("relu")',
    "leaky_relu": 'for_activation("leaky_relu", param=slope)',
    "elu": 'for_activation("elu")',
    "selu": "lecun_normal (self-normalizing fixed point)",
    "tanh": 'for_activation("tanh"); orthogonal() at the edge of chaos for depth',
    "erf": 'for_activation("erf"); orthogonal({edge}) at the edge of chaos for depth',
    "sigmoid": 'for_activation("sigmoid"); better a zero-centred activation',
}


def _cmd_gains(args, console: Console) -> int:
  names = GAIN_ACTIVATIONS if args.activations is None else _activation_names(args.activations, "--activations")
  _configure_cache(not args.no_cache, Console(stderr=True))
  import jaxinit
  from jaxinit import theory

  rows = []
  for name in names:
    torch_name = "linear" if name == "identity" else name
    try:
      torch_gain = jaxinit.calculate_gain(torch_name)
    except ValueError:
      torch_gain = None
    edge = float(theory.edge_of_chaos(name, 0.0).sigma_w2)
    edge_w = math.sqrt(edge) if math.isfinite(edge) else None
    advice = _ADVICE.get(name, f'for_activation("{name}")')
    rows.append(dict(activation=name, torch_gain=torch_gain, gain=jaxinit.gain(name), edge_sigma_w=edge_w,
                     use=advice.format(edge=f"{edge_w:.3f}" if edge_w else "")))
  if args.format == "json":
    print(json.dumps(rows, indent=1))
    return 0
  table = Table(title="gains: PyTorch's table, the exact variance-preserving gain, the edge of chaos")
  table.add_column("activation", style="bold", no_wrap=True)
  table.add_column("torch calculate_gain", justify="right")
  table.add_column("exact gain 1/sqrt(E[phi(z)^2])", justify="right")
  table.add_column("edge-of-chaos sigma_w (sigma_b = 0)", justify="right")
  table.add_column("use")
  for r in rows:
    table.add_row(r["activation"], "-" if r["torch_gain"] is None else f"{r['torch_gain']:.4f}", f"{r['gain']:.4f}",
                  "-" if r["edge_sigma_w"] is None else f"{r['edge_sigma_w']:.4f}", r["use"])
  console.print(table)
  return 0


# ---------------------------------------------------------------------------------- schemes

def _cmd_schemes(args, console: Console) -> int:
  if args.format == "json":
    rows = [{"name": s.name, "distribution": s.distribution, "variance": s.variance,
             "aliases": list(s.aliases)} for s in _catalog.SCHEMES]
    console.print_json(json.dumps(rows))
    return 0
  table = Table(title="jaxinit schemes: Var(W) per entry")
  table.add_column("name", no_wrap=True, style="bold")
  table.add_column("distribution")
  table.add_column("variance")
  table.add_column("aliases", no_wrap=True)
  for s in _catalog.SCHEMES:
    table.add_row(s.name, s.distribution, s.variance, ", ".join(s.aliases))
  console.print(table)
  return 0


# ---------------------------------------------------------------------------------- parser

def _parser() -> argparse.ArgumentParser:
  parser = _Parser(prog="jaxinit", description="Check weight initialization schemes.")
  sub = parser.add_subparsers(dest="command", required=True)

  p = sub.add_parser("sweep", help="simulate signal propagation over depth x width; write a report",
                     description="Monte-Carlo sweep of every scheme x activation x width x depth; writes "
                                 "sweep.json, sweep.csv, two heatmaps and index.html to --out.")
  p.add_argument("--schemes", default=SWEEP_SCHEMES, metavar="A,B", help=f"comma-separated scheme names (default {SWEEP_SCHEMES})")
  p.add_argument("--activations", default=SWEEP_ACTIVATIONS, metavar="A,B",
                 help=f"comma-separated, leaky_relu:SLOPE for a slope (default {SWEEP_ACTIVATIONS})")
  p.add_argument("--depths", default=SWEEP_DEPTHS, metavar="RANGE",
                 help="inclusive range 1:128, stepped 1:128:2, or a list 1,2,4,8 (default %(default)s)")
  p.add_argument("--widths", default=SWEEP_WIDTHS, metavar="N,N", help="comma-separated (default %(default)s)")
  p.add_argument("--batch", default=str(SWEEP_BATCH), help="inputs per network, >= 2 (default %(default)s)")
  p.add_argument("--seeds", default=str(SWEEP_SEEDS), help="networks per configuration (default %(default)s)")
  p.add_argument("--bias-std", default="0", help="std of the biases (default %(default)s)")
  p.add_argument("--architecture", choices=("mlp", "resnet"), default="mlp")
  p.add_argument("--branch-scale", default="1", help="residual branch multiplier (resnet; default %(default)s)")
  p.add_argument("--input-correlation", default="0", help="correlation of paired inputs (default %(default)s)")
  p.add_argument("--engine", choices=("auto", "dense", "gaussian"), default="auto")
  p.add_argument("--devices", default=None, metavar="N", help="use the first N local devices (default all)")
  p.add_argument("--seed", default="0", help="PRNG seed (default %(default)s)")
  p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help="report folder (default ./%(default)s)")
  p.add_argument("--format", choices=("table", "json"), default="table", help="stdout: rich table or JSON summary")
  p.add_argument("--no-cache", action="store_true", help="do not use the persistent compilation cache")
  p.set_defaults(run=_cmd_sweep)

  p = sub.add_parser("theory", help="mean-field phase diagram: chi_1 and xi_c against sigma_w^2")
  p.add_argument("--activation", default="tanh", help="activation name (default %(default)s)")
  p.add_argument("--param", default=None, help="negative slope for leaky_relu")
  p.add_argument("--sigma-b2", default="0.05", help="bias variance (default %(default)s)")
  p.add_argument("--sigma-w2", default="1:4", help="range 1:4 (--points values), 1:4:0.1, or a list (default %(default)s)")
  p.add_argument("--points", default="61", help="points for a START:STOP range (default %(default)s)")
  p.add_argument("--rows", default="13", help="rows shown in the table (default %(default)s)")
  p.add_argument("--out", default=DEFAULT_OUT, help="folder for theory_<activation>.png (default ./%(default)s)")
  p.add_argument("--format", choices=("table", "json"), default="table")
  p.add_argument("--no-cache", action="store_true", help="do not use the persistent compilation cache")
  p.set_defaults(run=_cmd_theory)

  p = sub.add_parser("gains", help="PyTorch's gain, the exact gain and the edge of chaos per activation")
  p.add_argument("--activations", default=None, help="comma-separated (default: every named activation)")
  p.add_argument("--format", choices=("table", "json"), default="table")
  p.add_argument("--no-cache", action="store_true", help="do not use the persistent compilation cache")
  p.set_defaults(run=_cmd_gains)

  p = sub.add_parser("schemes", help="every initializer with its variance formula")
  p.add_argument("--format", choices=("table", "json"), default="table")
  p.set_defaults(run=_cmd_schemes)
  return parser


def _stdout_console() -> Console:
  """Rich on stdout; piped or captured output gets 160 columns rather than rich's 80 (COLUMNS still wins)."""
  if sys.stdout.isatty() or "COLUMNS" in os.environ:
    return Console()
  return Console(width=160)


def main(argv: list[str] | None = None) -> int:
  """Runs the command line; returns the exit status (0 ok, 2 bad input, 130 interrupted)."""
  parser = _parser()
  console = _stdout_console()
  try:
    args = parser.parse_args(argv)
  except SystemExit as e:  # --help (0) or a usage error, already printed on one line (2)
    return int(e.code or 0)
  try:
    return args.run(args, console)
  except CliError as e:
    print(f"jaxinit: error: {e}", file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    print("jaxinit: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED
  except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def main_entry() -> None:
  """Console-script entry point."""
  sys.exit(main())
