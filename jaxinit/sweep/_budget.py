"""What a sweep will cost before it compiles: the memory of each width's program, how many seeds
fit in one call, and a rough time.

The memory model counts, per seed, the carried rows of every lane (signal and tangent, three
times: the scan's carry in and out, and the product), each dense weight draw five times over
(random bits, the draw and its transforms; an orthogonal or opaque draw six, for its QR), the Gram
matrices and Cholesky factors of a sampled product, and the per-layer outputs. Checked against XLA's
own memory analysis of the compiled programs, it errs high, by at most about 2x
(``tests/sweep/test_budget.py``).
"""

import os
from typing import NamedTuple

from jaxinit.sweep import _engines
from jaxinit.sweep._config import SweepConfig, SweepConfigError
from jaxinit.sweep._result import METRICS

BYTES = 4  # float32
MEMORY_FRACTION = 0.5  # of what the device has free: the rest is the caller's
# Rough rates for the time estimate, measured on a 2-core x86 CPU (jax 0.10): compiling one width's
# program of the default grid, float32 matmul throughput, and one random normal.
COMPILE_SECONDS = 1.5
MATMUL_FLOPS = 1.5e11
RNG_SECONDS = 3e-9


def program_bytes(config: SweepConfig, width: int, sampled, lanes: _engines.Lanes, seeds: int) -> int:
  """The estimated peak memory of one call of a width's program over ``seeds`` seeds (bytes)."""
  acts, rows2 = len(config.activations), 2 * config.batch
  # the per-layer outputs, twice: as the scan stacks them, and per scheme
  per_seed = 2 * (len(METRICS) + 1) * acts * len(config.schemes) * config.max_depth
  for group, is_sampled, runs in zip(_engines.group_schemes(config.schemes), sampled, lanes.of_group,
                                     strict=True):
    per_seed += 3 * acts * len(runs) * rows2 * width  # the carry in and out of the scan, and the product
    if is_sampled:
      per_seed += 4 * acts * len(runs) * rows2 * rows2 + 2 * rows2 * width  # Gram, Cholesky; the factor
    else:
      per_seed += (5 if group.family in ("normal", "truncated_normal", "uniform") else 6) * width * width
  return BYTES * seeds * per_seed


def available_bytes(device) -> int | None:
  """Memory free on ``device`` (bytes): its allocator's limit less what is in use, or the host's
  available memory for a CPU; None if unknown."""
  try:
    stats = device.memory_stats()
  except Exception:  # not every backend implements it
    stats = None
  if stats and "bytes_limit" in stats:
    return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
  if device.platform != "cpu":
    return None
  try:
    with open("/proc/meminfo") as f:
      for line in f:
        if line.startswith("MemAvailable:"):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  try:
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (ValueError, OSError, AttributeError):
    return None


def memory_limit(devices, limit: int | None = None) -> int | None:
  """The bytes one device's share of a call may use: ``limit``, or half what the first device has free
  (CPU devices share the host's memory: split between them)."""
  if limit is not None:
    return limit
  free = available_bytes(devices[0])
  if free is None:
    return None
  sharing = sum(d.platform == "cpu" for d in devices) if devices[0].platform == "cpu" else 1
  return int(MEMORY_FRACTION * free / max(1, sharing))


def seed_chunk(config: SweepConfig, devices, sampled, lanes, budget: int | None) -> int:
  """Seeds per call of every width's program: all of them (padded to the device count) if they fit in
  memory, else as many as fit, balanced over the calls.

  Raises:
    SweepConfigError: one seed per device of some width does not fit.
  """
  n_devices = len(devices)
  per_device = -(-config.seeds // n_devices)
  if budget is None:
    return per_device * n_devices
  fits = per_device
  for width, width_sampled, width_lanes in zip(config.widths, sampled, lanes, strict=True):
    one = program_bytes(config, width, width_sampled, width_lanes, seeds=1)
    if one > budget:
      raise SweepConfigError("widths", config.widths, f"needs about {format_bytes(one)} for one seed at "
                             f"width={width}, more than the {format_bytes(budget)} the sweep may use on "
                             f"{devices[0]} (fewer schemes or activations, a smaller batch, or the "
                             f"'gaussian' engine need less)")
    fits = min(fits, budget // one)
  calls = -(-per_device // fits)
  return -(-per_device // calls) * n_devices


class Estimate(NamedTuple):
  """What `estimate` predicts for a plan: the programs, configurations, memory and time."""
  programs: int
  cached: int  # programs found in this process or the cache folder: no compile
  configurations: int  # scheme x activation x width x depth
  networks: int  # configurations x seeds
  calls: int  # program calls (more than the programs when seeds are split to fit in memory)
  peak_bytes: tuple[int, ...]  # per width, one call
  limit_bytes: int | None
  compile_seconds: float
  run_seconds: float


def run_seconds(config: SweepConfig, width: int, sampled, lanes: _engines.Lanes) -> float:
  """A rough run time of a width's program over every seed, from its matmul flops and random draws."""
  acts, rows2, depth = len(config.activations), 2 * config.batch, config.max_depth
  flops = draws = 0.0
  for group, is_sampled, runs in zip(_engines.group_schemes(config.schemes), sampled, lanes.of_group,
                                     strict=True):
    if is_sampled:
      flops += 2 * acts * len(runs) * rows2 * (rows2 * width + rows2 * rows2)
      draws += rows2 * width
    else:
      flops += 2 * acts * len(runs) * rows2 * width * width
      draws += width * width * (4 if group.family == "orthogonal" else 1)  # a QR costs about 4 draws
  return depth * config.seeds * (flops / MATMUL_FLOPS + draws * RNG_SECONDS)


def estimate(the_plan, cached: int) -> Estimate:
  """The plan's cost before anything compiles (``jaxinit sweep --dry-run``)."""
  config = the_plan.config
  widths = config.widths
  per_width = list(zip(widths, the_plan.sampled, the_plan.lanes, strict=True))
  peak = tuple(program_bytes(config, *w, the_plan.chunk // len(the_plan.devices)) for w in per_width)
  # XLA compiles a program's kernels on every core already: programs compiled side by side gain nothing
  compile_s = (len(widths) - cached) * COMPILE_SECONDS
  run_s = sum(run_seconds(config, *w) for w in per_width) / len(the_plan.devices)
  configs = len(config.schemes) * len(config.activations) * len(widths) * len(config.depths)
  calls = len(widths) * len(the_plan.chunk_keys)
  return Estimate(len(widths), cached, configs, configs * config.seeds, calls, peak, the_plan.memory_limit,
                  compile_s, run_s)


def format_bytes(n: float) -> str:
  """``1536`` -> ``'1.5 KiB'``."""
  for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
    if abs(n) < 1024 or unit == "TiB":
      return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
    n /= 1024
  raise AssertionError("unreachable")
