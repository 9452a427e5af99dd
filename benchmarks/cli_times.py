"""What a stopwatch shows for `jaxinit sweep` (the default grid), cold and warm, each in a fresh process.

Cold: an empty cache (a new ``XDG_CACHE_HOME``: no compiled programs kept); warm: the same cache again,
now holding the programs the cold run compiled. For each run it prints the process's wall time (what
``time`` shows: start-up, tracing, compiling, running, the report, and the interpreter's exit) and the
breakdown that ``jaxinit sweep --format json`` gives in ``timings_s`` (start: interpreter and imports;
trace: planning, tracing and lowering, or loading compiled programs; compile; run; report), then the
targets' ratios: wall time over the run phase, warm (target <= 1.3) and cold (target <= 2).

  python benchmarks/cli_times.py                      # the default grid
  python benchmarks/cli_times.py --warm-runs 2        # more warm runs
  python benchmarks/cli_times.py -- --widths 32,64    # extra arguments for `jaxinit sweep`
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

PHASES = ("start", "trace", "compile", "run", "report")


def run_once(sweep_args: list[str], cache_home: str, out: str) -> tuple[float, dict]:
  """(wall seconds of the process, its timings_s)."""
  env = dict(os.environ, XDG_CACHE_HOME=cache_home)
  cmd = [sys.executable, "-m", "jaxinit", "sweep", "--format", "json", "--out", out, *sweep_args]
  start = time.perf_counter()
  proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
  wall = time.perf_counter() - start
  if proc.returncode != 0:
    raise SystemExit(f"cli_times: `{' '.join(cmd)}` exited {proc.returncode}:\n{proc.stderr[-2000:]}")
  return wall, json.loads(proc.stdout)["timings_s"]


def line(name: str, wall: float, times: dict) -> str:
  parts = "  ".join(f"{p} {times.get(p, 0.0):5.2f}" for p in PHASES)
  exit_s = wall - times["total"]
  return f"{name:<10} wall {wall:6.2f} s = {parts}  exit {exit_s:4.2f};  wall / run = {wall / times['run']:.2f}"


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--warm-runs", type=int, default=2, help="warm runs after the cold one (default 2)")
  parser.add_argument("sweep_args", nargs="*", help="extra arguments for `jaxinit sweep` (after --)")
  args = parser.parse_args(argv)
  print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
  print(f"command: XDG_CACHE_HOME=<new dir> python -m jaxinit sweep --format json {' '.join(args.sweep_args)}")
  with tempfile.TemporaryDirectory() as tmp:
    cache_home, out = os.path.join(tmp, "cache"), os.path.join(tmp, "report")
    cold = run_once(args.sweep_args, cache_home, out)
    print(line("cold", *cold))
    warm = [run_once(args.sweep_args, cache_home, out) for _ in range(args.warm_runs)]
    for i, w in enumerate(warm):
      print(line(f"warm {i + 1}", *w))
    if warm:
      best = min(warm, key=lambda w: w[0])
      print(f"targets: warm wall / run {best[0] / best[1]['run']:.2f} (<= 1.3), "
            f"cold wall / run {cold[0] / cold[1]['run']:.2f} (<= 2); cold / warm wall {cold[0] / best[0]:.2f}x")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at end")
  return 0


if __name__ == "__main__":
  sys.exit(main())
