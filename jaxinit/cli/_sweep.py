"""`jaxinit sweep`: parse the options into a SweepConfig, run it with progress bars, write the report."""

import json
import time
from pathlib import Path

from rich.console import Console

from jaxinit.cli import _common
from jaxinit.cli._common import CliError

NAME = "sweep"
HELP = "simulate signal propagation over depth x width; write a report"
DESCRIPTION = ("Monte-Carlo sweep of every scheme x activation x width x depth; writes sweep.json, "
               "sweep.csv, two heatmaps and index.html to --out.")

# the classic schemes, and jaxinit's own answer for tanh (jaxinit recommend): the report shows where each
# holds
SCHEMES = "he_normal,glorot_normal,lecun_normal,orthogonal,torch_default_kernel,edge_of_chaos:tanh,0.05"
ACTIVATIONS = "relu,tanh,gelu"
DEPTHS = "1:128"
WIDTHS = "32,64,128,256,512"
BATCH = 64
SEEDS = 3
# each SweepConfig parameter, as the option that sets it
_OPTIONS = {"schemes": "schemes", "scheme": "schemes", "activations": "activations",
            "activation": "activations", "depths": "depths", "widths": "widths", "batch": "batch",
            "seeds": "seeds", "key": "seed",
            "bias_std": "bias_std", "architecture": "architecture", "engine": "engine",
            "branch_scale": "branch_scale", "input_correlation": "input_correlation", "devices": "devices"}


def add_arguments(p) -> None:
  p.add_argument("--schemes", default=SCHEMES, metavar="A,B",
                 help=f"comma-separated scheme names (default {SCHEMES})")
  p.add_argument("--activations", default=ACTIVATIONS, metavar="A,B",
                 help=f"comma-separated, leaky_relu:SLOPE for a slope (default {ACTIVATIONS})")
  p.add_argument("--depths", default=DEPTHS, metavar="RANGE",
                 help="inclusive range 1:128, stepped 1:128:2, or a list 1,2,4,8 (default %(default)s)")
  p.add_argument("--widths", default=WIDTHS, metavar="N,N", help="comma-separated (default %(default)s)")
  p.add_argument("--batch", default=str(BATCH), help="inputs per network, even, >= 2 (default %(default)s)")
  p.add_argument("--seeds", default=str(SEEDS), help="networks per configuration (default %(default)s)")
  p.add_argument("--bias-std", default="0", help="std of the biases (default %(default)s)")
  p.add_argument("--architecture", choices=("mlp", "resnet"), default="mlp")
  p.add_argument("--branch-scale", default="1",
                 help="residual branch multiplier (resnet; default %(default)s)")
  p.add_argument("--input-correlation", default="0",
                 help="correlation of paired inputs (default %(default)s)")
  p.add_argument("--engine", choices=("auto", "dense", "gaussian"), default="auto")
  p.add_argument("--devices", default=None, metavar="N", help="use the first N local devices (default all)")
  p.add_argument("--seed", default="0", help="PRNG seed (default %(default)s)")
  p.add_argument("--out", default=_common.DEFAULT_OUT, metavar="DIR",
                 help="report folder (default ./%(default)s)")
  p.add_argument("--dry-run", action="store_true",
                 help="print the programs, configurations, peak memory and a rough time; run nothing")
  _common.add_format(p, "stdout: rich table or JSON summary")
  p.add_argument("--no-cache", action="store_true",
                 help=f"do not keep compiled programs in {_common.programs_dir()} (nor read them from there)")


def _parsed(args) -> dict:
  """Every option as a typed value, checked without touching jax."""
  opts = dict(
      schemes=_common.parse_scheme_names(args.schemes, "--schemes"),
      activations=_common.parse_sweep_activations(args.activations, "--activations"),
      depths=_common.parse_int_list(args.depths, "--depths", 1),
      widths=_common.parse_int_list(args.widths, "--widths", 1),
      batch=_common.parse_int(args.batch, "--batch", 2),
      seeds=_common.parse_int(args.seeds, "--seeds", 1),
      bias_std=_common.parse_float(args.bias_std, "--bias-std", 0.0),
      branch_scale=_common.parse_float(args.branch_scale, "--branch-scale"),
      input_correlation=_common.parse_float(args.input_correlation, "--input-correlation", 0.0),
      architecture=args.architecture, engine=args.engine, key=_common.parse_int(args.seed, "--seed", 0))
  if args.devices is not None:
    import jax

    count, local = _common.parse_int(args.devices, "--devices", 1), jax.local_devices()
    if count > len(local):
      raise CliError(f"--devices '{count}': only {len(local)} local device(s)")
    opts["devices"] = local[:count]
  return opts


def config_from(args):
  """The :class:`jaxinit.sweep.SweepConfig` the options describe; a bad one is a CliError naming it."""
  from jaxinit.sweep import SweepConfig, SweepConfigError

  try:
    return SweepConfig(**_parsed(args))
  except SweepConfigError as e:
    dest = _OPTIONS.get(e.parameter)
    if dest is None:
      raise
    raise CliError(f"--{dest.replace('_', '-')} {getattr(args, dest)!r}: {e.reason}") from None


def default_sweep_config():
  """The grid ``jaxinit sweep`` runs when given no options, as a :class:`jaxinit.sweep.SweepConfig`.

  Examples:
    >>> from jaxinit.cli import default_sweep_config
    >>> config = default_sweep_config()
    >>> config.batch, config.seeds, config.depths[-1], config.widths
    (64, 3, 128, (32, 64, 128, 256, 512))
  """
  from jaxinit.cli._main import parser

  return config_from(parser().parse_args([NAME]))


class SweepProgress:
  """The sweep's ``progress`` callback: one rich bar for compiling, one for running, per width."""

  def __init__(self, bar):
    self.bar = bar
    self.tasks = {}  # added on the first call, so that an early error leaves no empty bars behind

  def __call__(self, phase: str, width: int, done: int, total: int) -> None:
    if not self.tasks:
      self.tasks = {"compile": self.bar.add_task("compile", total=total),
                    "run": self.bar.add_task("run", total=total, start=False)}
    if phase == "lower":  # tracing the widths (or finding them compiled) before they compile
      label = f"tracing N={width}" if done < total else "compiling"
      self.bar.update(self.tasks["compile"], description=label)
      return
    task = self.tasks[phase]
    if phase == "run" and done == 0:
      self.bar.start_task(task)
    if phase == "compile":  # widths may compile in parallel: count them, name none
      label = "compiling" if done < total else "compiled"
    else:
      label = f"running N={width}" if done < total else "ran"
    self.bar.update(task, completed=done, total=total, description=label)


class Clock:
  """When each phase of a `jaxinit sweep` process ended (seconds since the process started), from the
  sweep's progress reports: the breakdown of what a stopwatch shows.

  Phases: ``start`` (the interpreter, imports, the options), ``trace`` (planning; tracing and
  lowering each width, or loading its compiled program), ``compile``, ``run``, ``report``.
  """
  PHASES = ("start", "trace", "compile", "run", "report")

  def __init__(self):
    self.ends: dict[str, float] = {}

  def mark(self, phase: str) -> None:
    self.ends[phase] = _common.process_seconds()

  def __call__(self, phase: str, width: int, done: int, total: int) -> None:
    if phase == "lower":
      self.mark("trace")
    elif phase == "run" and done == 0:
      self.mark("compile")
    elif phase == "run" and done == total:
      self.mark("run")

  def seconds(self) -> dict[str, float]:
    """Each phase's seconds (those it reached), and ``total``: from the process's start to the last."""
    out, before = {}, 0.0
    for phase in self.PHASES:
      if phase in self.ends:
        out[phase] = round(max(0.0, self.ends[phase] - before), 3)
        before = self.ends[phase]
    out["total"] = round(before, 3)
    return out

  def text(self) -> str:
    times = self.seconds()
    parts = ", ".join(f"{phase} {times[phase]:.1f}" for phase in self.PHASES if phase in times)
    return f"{times['total']:.1f} s ({parts})"


class _Interrupts:
  """Ctrl-C while the sweep runs: the first says so at once and stops after the running width; a second
  stops at once. Either way the widths that finished are kept (``sweep(keep_partial=True)``)."""

  def __init__(self, err: Console):
    self.err, self.count, self.width = err, 0, None

  def __call__(self, signum, frame):
    self.count += 1
    if self.count > 1 or self.width is None:  # a second Ctrl-C, or nothing running yet: stop now
      raise KeyboardInterrupt
    self.err.print(f"jaxinit: interrupting: finishing width N={self.width} (Ctrl-C again to stop now)",
                   soft_wrap=True)

  def check(self, phase: str, width: int, done: int, total: int) -> None:
    """Called with every progress report: stops between widths once interrupted."""
    if phase == "run":
      if self.count and 0 < done < total:
        raise KeyboardInterrupt
      self.width = width if done < total else None


def _run_with_progress(config, err: Console, cache, clock: Clock):
  import signal
  import threading

  from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

  import jaxinit

  columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TextColumn("widths"),
             TimeElapsedColumn())
  interrupts = _Interrupts(err)
  handle = threading.current_thread() is threading.main_thread()  # signal handlers live in the main thread
  previous = signal.signal(signal.SIGINT, interrupts) if handle else None
  try:
    with Progress(*columns, console=err) as bar:
      show = SweepProgress(bar)

      def progress(phase, width, done, total):
        clock(phase, width, done, total)
        interrupts.check(phase, width, done, total)
        show(phase, width, done, total)

      clock.mark("start")
      return jaxinit.sweep(config=config, progress=progress, keep_partial=True, cache=cache)
  finally:
    if handle:
      signal.signal(signal.SIGINT, previous)


def _seconds(x: float) -> str:
  return "under 0.1 s" if x < 0.1 else f"{x:.2g} s"


def _dry_run(config, cache, fmt: str, console: Console) -> int:
  """Prints what the sweep would cost, from its plan alone: nothing is traced, compiled or written."""
  from jaxinit.sweep import estimate
  from jaxinit.sweep._budget import format_bytes

  e = estimate(config, cache)
  peak = {str(w): b for w, b in zip(config.widths, e.peak_bytes, strict=True)}
  if fmt == "json":
    print(json.dumps({**e._asdict(), "peak_bytes": peak, "cache_dir": None if cache is None else str(cache)},
                     indent=1))
    return 0
  limit = "no limit known" if e.limit_bytes is None else f"limit {format_bytes(e.limit_bytes)} a device"
  lines = [f"jaxinit sweep --dry-run: {len(config.schemes)} schemes x {len(config.activations)} activations"
           f" x "
           f"{len(config.widths)} widths x {len(config.depths)} depths = {e.configurations} configurations, "
           f"{e.networks} networks ({config.seeds} seeds)",
           f"programs: {e.programs} (one per width), {e.cached} compiled already"
           f"{'' if cache is None else f' (in {cache})'}; {e.calls} calls",
           "peak memory of a call: " + ", ".join(f"N={w} {format_bytes(b)}" for w, b in peak.items())
           + f" ({limit})",
           f"estimated time: compile about {_seconds(e.compile_seconds)}, "
           f"run about {_seconds(e.run_seconds)} "
           "(a rough model: rates measured on a 2-core CPU)"]
  console.print("\n".join(lines), soft_wrap=True, highlight=False)
  return 0


def run(args, console: Console) -> int:
  from jaxinit.report import _files, _tables

  config = config_from(args)
  cache = None if args.no_cache else _common.programs_dir()
  if args.dry_run:
    return _dry_run(config, cache, args.format, console)
  created = not Path(args.out).expanduser().exists()
  out = _common.out_dir(args.out)
  err = Console(stderr=True)
  clock = Clock()
  start = time.perf_counter()
  try:
    result = _run_with_progress(config, err, cache, clock)
  except KeyboardInterrupt:
    if created and not any(out.iterdir()):  # leave no empty folder behind
      out.rmdir()
    err.print("jaxinit: interrupted before any width finished; nothing written")
    return _common.EXIT_INTERRUPTED
  elapsed = time.perf_counter() - start
  files = _files.write_report(result, out, elapsed=elapsed, cache=cache)
  clock.mark("report")
  if args.format == "json":
    summary = _files.summary_json(result, out, files, elapsed, cache)
    print(json.dumps({**summary, "timings_s": clock.seconds()}, indent=1))
  else:
    console.print(_tables.summary_table(result))
    others = ", ".join(f.name for f in files if f.name != "index.html")
    console.print(f"wrote {out / 'index.html'} ({others}); {clock.text()}; "
                  f"compiled programs: {cache or 'not kept'}", soft_wrap=True)
  if result.interrupted:
    done = ", ".join(str(w) for w in result.widths)
    err.print(f"jaxinit: interrupted: kept the {len(result.widths)} of {len(config.widths)} widths that "
              f"finished ({done}) and wrote them to {out}", soft_wrap=True)
    return _common.EXIT_INTERRUPTED
  return 0
