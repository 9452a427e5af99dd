"""Cold vs warm wall time of `jaxinit sweep` (the default grid), each in a fresh process.

Cold: an empty persistent compilation cache (a new ``XDG_CACHE_HOME``); warm: the same cache
again, now filled by the cold run. Prints the wall time of each process (start-up, compile, run,
report), the sweep's own time (``elapsed_s`` of ``--format json``) and the cold / warm ratio.

  python benchmarks/cli_times.py                      # the default grid (about a minute cold)
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


def run_once(sweep_args: list[str], cache_home: str, out: str) -> tuple[float, float]:
  """(wall seconds of the process, the sweep's own elapsed_s)."""
  env = dict(os.environ, XDG_CACHE_HOME=cache_home)
  cmd = [sys.executable, "-m", "jaxinit", "sweep", "--format", "json", "--out", out, *sweep_args]
  start = time.perf_counter()
  proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
  wall = time.perf_counter() - start
  if proc.returncode != 0:
    raise SystemExit(f"cli_times: `{' '.join(cmd)}` exited {proc.returncode}:\n{proc.stderr[-2000:]}")
  return wall, float(json.loads(proc.stdout)["elapsed_s"])


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--warm-runs", type=int, default=1, help="warm runs after the cold one (default 1)")
  parser.add_argument("sweep_args", nargs="*", help="extra arguments for `jaxinit sweep` (after --)")
  args = parser.parse_args(argv)
  print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
  print(f"command: XDG_CACHE_HOME=<new dir> jaxinit sweep --format json {' '.join(args.sweep_args)}".rstrip())
  with tempfile.TemporaryDirectory() as tmp:
    cache_home, out = os.path.join(tmp, "cache"), os.path.join(tmp, "report")
    cold_wall, cold_sweep = run_once(args.sweep_args, cache_home, out)
    print(f"cold (empty cache): {cold_wall:6.1f} s wall, {cold_sweep:6.1f} s in the sweep")
    warm = []
    for i in range(args.warm_runs):
      warm.append(run_once(args.sweep_args, cache_home, out))
      print(f"warm run {i + 1}:         {warm[-1][0]:6.1f} s wall, {warm[-1][1]:6.1f} s in the sweep")
    if warm:
      best_wall = min(w for w, _ in warm)
      print(f"cold / warm wall time: {cold_wall / best_wall:.2f}x (best warm {best_wall:.1f} s)")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at end")
  return 0


if __name__ == "__main__":
  sys.exit(main())
