"""The sweep's compiled programs: what each depends on, how it is lowered and compiled, and two caches.

One program per width. A process keeps the programs it compiled, so a repeated sweep traces and
compiles nothing. Given a folder (``sweep(cache=...)``; ``jaxinit sweep`` gives one unless
``--no-cache``), programs are also kept there as serialized executables, so a new process loads
them instead of tracing, lowering and compiling. An entry's name hashes everything its program
depends on: the width's shapes, its schemes and lanes, the activations' registry names, the
versions of jax and jaxlib, the devices, the CPU's instruction set and jaxinit's own source. A
program with a caller's own callable in it (an opaque initializer, an unnamed activation) is
known only by identity and is kept in memory only. A damaged or foreign entry is ignored and
rewritten.

Compiling runs in a pool of threads (XLA's compiler releases the GIL): on an accelerator while the
host lowers the next widths and the device runs the finished ones. On a CPU the phases run one
after the other (lower every width, compile them, run them): each already keeps every core busy
(XLA compiles a program's kernels in parallel, and runs matrix products on every core), and on 2
cores overlapping them made the default sweep 15% slower.
"""

import concurrent.futures
import functools
import hashlib
import os
import platform
import re
import threading
from pathlib import Path

import jax
import numpy as np
from jax.experimental import serialize_executable

from jaxinit.core import _activations
from jaxinit.core._atomic import write_atomically
from jaxinit.sweep import _layer
from jaxinit.sweep._result import METRICS

# compiled programs of this process
_PROGRAMS: dict = {}
_LOCK = threading.Lock()
_MAX_PROGRAMS = 64
# on disk: the newest entries are kept
_MAX_ENTRIES = 256
_MAGIC = b"jaxinit-sweep-program-1\n"
_ENTRY = re.compile(r"[0-9a-f]{40}\.bin")  # an entry's name: its disk_key
# XLA's backend optimisation level per program: level 0 compiles in about half the time and runs
# about 3x slower, level 1 saves a fifth of the compile time and runs as fast as the default
# (measured on a 2-core CPU). A program runs about 1e-8 s per unit of (layer x seed x N^2 x
# scheme x activation) work: level 0 only where the whole run takes about 10 ms.
_SMALL_WORK = 1e6
OUTPUTS = (*METRICS, "sigma_w2")  # what a program returns


def traced_args(the_plan, index: int, seed_keys):
  """The arguments of width ``index``'s program: the seeds' keys, each lane's bias std, the branch scale.

  numpy values, not jax arrays: a multi-process program takes host values for its replicated arguments.
  """
  config = the_plan.config
  bias = np.asarray([config.bias_stds[i] for i in the_plan.lanes[index].runs], np.float32)
  return seed_keys, bias, np.float32(config.branch_scale)


def memory_key(the_plan, index: int) -> tuple:
  """What a width's program depends on, within this process. Initializers and activations enter by
  identity (their objects are kept alive beside the program), so unhashable callables work too."""
  config, width = the_plan.config, the_plan.config.widths[index]
  schemes = tuple((s.family, s.log_std(width)) if s.family is not None else ("object", id(s.init))
                  for s in config.schemes)
  return (schemes, tuple(id(a.fn) for a in config.activations), width, config.max_depth, config.batch,
          the_plan.sampled[index], the_plan.lanes[index], config.architecture, config.input_correlation,
          the_plan.biased[index], _settings(), str(jax.random.key_impl(the_plan.chunk_keys[0])),
          the_plan.chunk, the_plan.devices)


def disk_key(the_plan, index: int) -> str | None:
  """The name of a width's program on disk, or None when it can only be kept in memory."""
  config = the_plan.config
  activations = tuple(_activations.registry_key(a) for a in config.activations)
  if None in activations or any(s.family is None for s in config.schemes) or jax.process_count() > 1:
    return None
  key = memory_key(the_plan, index)
  devices = tuple((d.platform, d.device_kind, d.id) for d in the_plan.devices)
  described = (key[0], activations, *key[2:-1], devices, _environment())
  return hashlib.sha256(repr(described).encode()).hexdigest()[:40]


def _settings() -> tuple:
  """The jax settings that change what a trace computes: read at each use, since a caller may change them."""
  return (bool(jax.config.jax_enable_x64), str(jax.config.jax_default_matmul_precision),
          bool(jax.config.jax_threefry_partitionable))


def _environment() -> tuple:
  """What every entry depends on beyond its own configuration: versions, the machine, the jax settings that
  change what a trace computes, and jaxinit's own source."""
  return (*_build(), *_settings())


@functools.cache
def _build() -> tuple:
  """The part of `_environment` a process cannot change: computed once."""
  import jaxlib

  source = hashlib.sha256()
  root = Path(__file__).resolve().parent.parent
  for folder in ("core", "initializers", "sweep"):
    for path in sorted((root / folder).glob("*.py")):
      source.update(path.name.encode() + path.read_bytes())
  return (jax.__version__, jaxlib.__version__, platform.machine(), _cpu_flags(),
          os.environ.get("XLA_FLAGS", ""), source.hexdigest())


def _cpu_flags() -> str:
  """The CPU's instruction set extensions (XLA's CPU code is compiled for them)."""
  try:
    with open("/proc/cpuinfo") as f:
      flags = next((line for line in f if line.startswith(("flags", "Features"))), "")
  except OSError:
    flags = platform.processor()
  return hashlib.sha256(flags.encode()).hexdigest()[:16]


def lower(the_plan, index: int):
  """Traces and lowers width ``index``'s program (Python, holding the GIL)."""
  config = the_plan.config
  net = _layer.Network(config.activations, config.widths[index], config.batch, any(the_plan.biased[index]))
  run = _layer.make_run(config.schemes, net, config.max_depth, the_plan.sampled[index], config.architecture,
                        config.input_correlation, the_plan.lanes[index], the_plan.biased[index])
  batched = jax.vmap(run, in_axes=(0, None, None))
  sharding = the_plan.sharding
  jitted = jax.jit(batched) if sharding is None else jax.jit(
      batched, in_shardings=(sharding, None, None), out_shardings=sharding)
  return jitted.lower(*traced_args(the_plan, index, the_plan.chunk_keys[0]))


def compiler_options(the_plan, index: int) -> dict:
  config = the_plan.config
  width, lanes = config.widths[index], len(the_plan.lanes[index].runs)
  work = config.max_depth * the_plan.chunk * width * width * lanes * len(config.activations)
  return {"xla_backend_optimization_level": 0 if work < _SMALL_WORK else 1}


def _trees(the_plan, index: int):
  """The argument and output structures of a width's program, rebuilt without tracing it."""
  args = traced_args(the_plan, index, the_plan.chunk_keys[0])
  return jax.tree.structure((args, {})), jax.tree.structure({name: 0 for name in OUTPUTS})


@functools.cache
def _prepare_custom_calls(device) -> None:
  """Loads what the programs' custom calls run on ``device``'s platform (LAPACK for a CPU's orthogonal
  draws): jax does so when it lowers one, and a loaded executable that calls them before then would crash."""
  sharding = jax.sharding.SingleDeviceSharding(device)
  jax.jit(jax.numpy.linalg.qr).lower(jax.ShapeDtypeStruct((2, 2), np.float32, sharding=sharding))


def load(folder: Path, key: str, the_plan, index: int):
  """The program stored under ``key``, or None (absent, damaged, or not loadable here)."""
  path = folder / f"{key}.bin"
  try:
    data = path.read_bytes()
  except OSError:
    return None
  digest, payload = data[len(_MAGIC):len(_MAGIC) + 32], data[len(_MAGIC) + 32:]
  if not data.startswith(_MAGIC) or hashlib.sha256(payload).digest() != digest:
    return None
  _prepare_custom_calls(the_plan.devices[0])
  try:  # on the plan's own devices, in its order (not the backend's default devices)
    program = serialize_executable.deserialize_and_load(payload, *_trees(the_plan, index),
                                                        backend=the_plan.devices[0].client,
                                                        execution_devices=list(the_plan.devices))
  except Exception:  # written by another build: compile again and replace it
    return None
  try:
    os.utime(path)  # recently used: kept longest
  except OSError:
    pass
  return program


def _jax_cache_active() -> bool:
  """Whether jax's own persistent compilation cache is on: an executable it hands back serializes
  without its kernels (jaxlib 0.10: loading that copy fails with "Function ... not found")."""
  return bool(jax.config.jax_enable_compilation_cache) and jax.config.jax_compilation_cache_dir is not None


def store(folder: Path, key: str, program, the_plan, index: int) -> None:
  """Writes ``program`` under ``key`` (atomically); skipped while jax's own persistent cache is on
  (see `_jax_cache_active`) or where the folder cannot be written."""
  if _jax_cache_active():
    return
  try:
    payload, in_tree, out_tree = serialize_executable.serialize(program)
    if (in_tree, out_tree) != _trees(the_plan, index):
      return  # could not be loaded back as it is built: keep it in memory only
    folder.mkdir(parents=True, exist_ok=True)
    entry = _MAGIC + hashlib.sha256(payload).digest() + payload
    write_atomically(folder / f"{key}.bin", lambda f: f.write(entry), binary=True)
    # only the cache's own entries: other files in the folder are the caller's
    entries = sorted((p for p in folder.glob("*.bin") if _ENTRY.fullmatch(p.name)),
                     key=lambda p: p.stat().st_mtime)
    for old in entries[:-_MAX_ENTRIES]:
      old.unlink(missing_ok=True)
  except Exception:  # a program that cannot be kept (jax raises NotImplementedError for some): memory only
    pass


class Programs:
  """Each width's compiled program as a future: from this process, from the cache folder, or compiled.

  ``start`` lowers width after width in the calling thread and hands each to a pool of compiling
  threads; ``wait(index)`` returns a width's program once it is ready.
  """

  def __init__(self, the_plan):
    self.plan = the_plan
    widths = the_plan.config.widths
    self.futures = [concurrent.futures.Future() for _ in widths]
    self.pool = concurrent.futures.ThreadPoolExecutor(max(1, min(len(widths), os.cpu_count() or 1)))
    self.overlap = the_plan.devices[0].platform != "cpu"  # run a width while the next ones compile
    config = the_plan.config
    self.keep_alive = (tuple(s.init for s in config.schemes), tuple(a.fn for a in config.activations))

  def start(self, progress=None) -> "Programs":
    """Finds or lowers every width's program, compiling in the background; reports ``progress``.

    An error (or an interrupt) while lowering stops the compiles not yet begun and propagates.
    """
    try:
      self._start(progress)
    except BaseException:
      self.close()
      raise
    return self

  def _start(self, progress) -> None:
    lowered = []
    for index in range(len(self.futures)):
      # both keys here, in the caller's thread: jax settings in a `with` block are the thread's own
      key = memory_key(self.plan, index)
      found = _PROGRAMS.get(key, (None,))[0]
      disk = self.plan.cache is not None and disk_key(self.plan, index)
      if found is None and disk:
        found = load(self.plan.cache, disk, self.plan, index)
        if found is not None:
          self._remember(key, found)
      if found is not None:
        self.futures[index].set_result(found)
        self.report(progress)
      else:
        lowered.append((index, key, lower(self.plan, index), disk or None))
        if self.overlap:
          self.pool.submit(self._compile, *lowered.pop())
      if progress:
        progress("lower", self.plan.config.widths[index], index + 1, len(self.futures))
    for task in lowered:
      self.pool.submit(self._compile, *task)

  @staticmethod
  def count_ready(the_plan) -> int:
    """How many of the plan's programs need no compile: held by this process or in the cache folder."""
    def ready(index):
      if memory_key(the_plan, index) in _PROGRAMS:
        return True
      disk = the_plan.cache is not None and disk_key(the_plan, index)
      return bool(disk) and (the_plan.cache / f"{disk}.bin").is_file()
    return sum(ready(i) for i in range(len(the_plan.config.widths)))

  def _compile(self, index: int, key: tuple, lowered, disk: str | None) -> None:
    """Compiles in a pool thread; the future is always resolved, so the caller never waits forever."""
    future = self.futures[index]
    try:
      program = lowered.compile(compiler_options=compiler_options(self.plan, index))
    except BaseException as e:  # noqa: BLE001 (handed to the caller through the future)
      future.set_exception(e)
      return
    try:
      self._remember(key, program)
      if disk:
        store(self.plan.cache, disk, program, self.plan, index)
    finally:
      future.set_result(program)

  def _remember(self, key: tuple, program) -> None:
    with _LOCK:  # compiling threads add programs while the caller looks them up
      _PROGRAMS[key] = (program, self.keep_alive)
      while len(_PROGRAMS) > _MAX_PROGRAMS:
        _PROGRAMS.pop(next(iter(_PROGRAMS)))

  def report(self, progress) -> None:
    if progress:
      done = sum(f.done() for f in self.futures)
      progress("compile", self.plan.config.widths[min(done, len(self.futures) - 1)], done, len(self.futures))

  def wait(self, index: int, progress=None):
    """Width ``index``'s program (on a CPU, once every width is compiled); compile progress is reported
    while waiting for it."""
    pending = {f for f in self.futures if not f.done()}
    while not self.futures[index].done() or (not self.overlap and pending):
      _, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
      self.report(progress)
    return self.futures[index].result()

  def close(self) -> None:
    """Stops compiling what was not started; a compile under way finishes in its thread."""
    self.pool.shutdown(wait=False, cancel_futures=True)
