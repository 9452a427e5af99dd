"""The sweep's orchestration, as a list of steps: plan, compile, run, collect.

For every (scheme, activation, width, seed) one `lax.scan` runs the network to the maximum
depth once; every shallower depth is a prefix of that run. Per layer it records the
forward second moment of pre-activations, the second moment of a forward-mode tangent
(whose growth equals the backward gradient's in expectation: E|J v|^2 = tr(J J^T) = E|J^T g|^2
for v, g ~ N(0, I)), the correlation of paired inputs, the fraction of units with zero
derivative, the spread across units, and finiteness. Weights drawn from the same key are
shared by every scheme of one distribution family and by every activation (common random
numbers), and seeds are a `vmap` axis sharded over devices.
"""

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxinit.sweep import _budget, _engines, _programs
from jaxinit.sweep._config import SweepConfig, SweepConfigError
from jaxinit.sweep._result import METRICS, SweepResult


class Plan(NamedTuple):
  """What the programs need, decided before anything compiles."""
  config: SweepConfig
  devices: tuple
  chunk: int  # seeds per call of a program: a multiple of the device count that fits in memory
  chunk_keys: tuple  # per call, its (chunk,) seed keys fold_in(key, s), padded past the last seed
  sharding: NamedSharding | None
  sampled: tuple[tuple[bool, ...], ...]  # per width, per group: the "gaussian" engine
  lanes: tuple[_engines.Lanes, ...]  # per width: the distinct simulations
  biased: tuple[tuple[bool, ...], ...]  # per width, per group: some lane has biases
  scheme_engines: tuple[tuple[str, ...], ...]  # per scheme, per width
  cache: Path | None  # where compiled programs are kept on disk (None: in memory only)
  memory_limit: int | None  # bytes a call may use per device (None: unknown, no limit)


def plan(config: SweepConfig, cache=None, memory_limit: int | None = None) -> Plan:
  """Devices, engines, lanes and seed chunks for ``config``; ``cache`` and ``memory_limit`` as in
  :func:`sweep`.

  Raises:
    SweepConfigError: one seed of a width does not fit in the memory the sweep may use, a ``memory_limit``
      that is not a positive int, or a ``cache`` that is a file.
  """
  if memory_limit is not None and (isinstance(memory_limit, bool)
                                   or not isinstance(memory_limit, (int, np.integer)) or memory_limit < 1):
    raise SweepConfigError("memory_limit", memory_limit, "must be a number of bytes, an int >= 1, or None")
  if cache is not None:
    cache = Path(cache).expanduser()
    if cache.exists() and not cache.is_dir():
      raise SweepConfigError("cache", str(cache), "is not a folder")
  devices = tuple(jax.local_devices() if config.devices is None else config.devices)
  schemes = config.schemes
  platform = devices[0].platform
  sampled = tuple(_engines.pick_sampled(config.engine, schemes, w, config.batch, platform)
                  for w in config.widths)
  lanes = tuple(_engines.plan_lanes(schemes, w, config.bias_stds) for w in config.widths)
  limit = _budget.memory_limit(devices, memory_limit)
  chunk = _budget.seed_chunk(config, devices, sampled, lanes, limit)
  padded = -(-config.seeds // chunk) * chunk
  key = config.prng_key()
  seed_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(padded))
  sharding = None
  if len(devices) > 1:
    sharding = NamedSharding(jax.sharding.Mesh(np.asarray(devices), ("seeds",)), P("seeds"))
  chunk_keys = tuple(seed_keys[i:i + chunk] if sharding is None
                     else _global_keys(seed_keys[i:i + chunk], sharding) for i in range(0, padded, chunk))
  group_of = {i: gi for gi, g in enumerate(_engines.group_schemes(schemes)) for i in g.members}
  scheme_engines = tuple(tuple("gaussian" if s[group_of[i]] else "dense" for s in sampled)
                         for i in range(len(schemes)))
  biased = tuple(tuple(any(config.bias_stds[i] > 0 for i in runs) for runs in width_lanes.of_group)
                 for width_lanes in lanes)
  return Plan(config, devices, chunk, chunk_keys, sharding, sampled, lanes, biased, scheme_engines,
              cache, limit)


def _global_keys(seed_keys, sharding):
  """The seeds' keys as one array sharded over ``sharding``'s devices, which may span several processes
  (``jax.device_put`` places data on this process's devices only)."""
  data = np.asarray(jax.random.key_data(seed_keys))
  shards = jax.make_array_from_callback(data.shape, sharding, lambda index: data[index])
  return jax.random.wrap_key_data(shards, impl=jax.random.key_impl(seed_keys))


def _to_host(x) -> np.ndarray:
  """``x`` on the host of every process, gathered across processes when it spans several."""
  if x.is_fully_addressable:
    return np.asarray(jax.device_get(x))
  return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def compile_programs(the_plan: Plan, progress: Callable | None = None) -> _programs.Programs:
  """Every width's program, as futures: found in this process or the cache folder, or lowered here
  one after the other and compiled in background threads (on an accelerator while the first ones run)."""
  return _programs.Programs(the_plan).start(progress)


def run_programs(the_plan: Plan, programs: _programs.Programs, progress: Callable | None = None,
                 keep_partial: bool = False) -> tuple[list[dict], bool]:
  """Runs each width's program once it is compiled (on a CPU, once every width is), chunk after chunk of
  seeds; returns the outputs on the host (each metric (seeds, A, K, L)) and whether it was interrupted."""
  widths = the_plan.config.widths
  outputs = []
  try:
    for i, width in enumerate(widths):
      program = programs.wait(i, progress)
      if progress:
        progress("run", width, i, len(widths))
      calls = [program(*_programs.traced_args(the_plan, i, keys)) for keys in the_plan.chunk_keys]
      host = [jax.tree.map(_to_host, jax.block_until_ready(c)) for c in calls]
      seeds = the_plan.config.seeds  # padding seeds dropped
      outputs.append({name: np.concatenate([h[name] for h in host])[:seeds] for name in host[0]})
    if progress:
      progress("run", widths[-1], len(widths), len(widths))
  except KeyboardInterrupt:
    if not (keep_partial and outputs):
      raise
    return outputs, True
  finally:
    programs.close()
  return outputs, False


def collect(the_plan: Plan, outputs: list[dict], interrupted: bool) -> SweepResult:
  """The result: (K, A, W, S, L) arrays, and each scheme's sigma_w^2 per width."""
  config = the_plan.config
  done = len(outputs)
  metrics = {m: np.stack([o[m] for o in outputs], axis=0).transpose(3, 2, 0, 1, 4) for m in METRICS}
  sigma_w2 = tuple(tuple(s.sigma_w2(w) if s.sigma_w2(w) is not None else float(np.mean(o["sigma_w2"][:, i]))
                         for w, o in zip(config.widths[:done], outputs, strict=True))
                   for i, s in enumerate(config.schemes))
  return SweepResult(**{m: jnp.asarray(v) for m, v in metrics.items()}, config=config,
                     scheme_engines=tuple(e[:done] for e in the_plan.scheme_engines), sigma_w2=sigma_w2,
                     interrupted=interrupted)


def estimate(config: SweepConfig, cache=None, memory_limit: int | None = None) -> _budget.Estimate:
  """What :func:`sweep` would cost for ``config``, before anything is traced or compiled.

  Args:
    config: a :class:`SweepConfig`.
    cache: the cache folder :func:`sweep` would use: programs found there need no compile.
    memory_limit: as in :func:`sweep`.

  Returns:
    An :class:`Estimate`: programs (and how many are compiled already), configurations, networks,
    program calls, the peak memory of one call per width (an upper bound, within about 2x of XLA's
    own figure) and rough compile and run times (from rates measured on a 2-core CPU).

  Raises:
    SweepConfigError: one seed of a width does not fit in ``memory_limit``.

  Examples:
    >>> from jaxinit.sweep import SweepConfig, estimate
    >>> e = estimate(SweepConfig(schemes=("he_normal",), activations=("relu",), depths=(8,), widths=(64,),
    ...                          batch=8, seeds=2))
    >>> e.programs, e.configurations, e.networks
    (1, 1, 2)
  """
  the_plan = plan(config, cache, memory_limit)
  return _budget.estimate(the_plan, _programs.Programs.count_ready(the_plan))


class _Default:
  """A keyword left at its default: shows as that default, and lets ``config=`` refuse a mixed call."""

  def __init__(self, name: str):
    self.name = name
    self.value = SweepConfig.__dataclass_fields__[name].default

  def __repr__(self) -> str:
    return repr(self.value)


_OPTIONS = tuple(SweepConfig.__dataclass_fields__)
_D = {name: _Default(name) for name in _OPTIONS}


def sweep(schemes=_D["schemes"], activations=_D["activations"], depths=_D["depths"], widths=_D["widths"],
          batch: int = _D["batch"], seeds: int = _D["seeds"], key=_D["key"], bias_std: float = _D["bias_std"],
          architecture: str = _D["architecture"], engine: str = _D["engine"], devices=_D["devices"], *,
          branch_scale: float = _D["branch_scale"], input_correlation: float = _D["input_correlation"],
          config: SweepConfig | None = None, progress: Callable[[str, int, int, int], None] | None = None,
          keep_partial: bool = False, cache=None, memory_limit: int | None = None) -> SweepResult:
  """Simulates signal propagation for every scheme x activation x width x seed, to the deepest depth.

  Each configuration runs one network of width ``N`` (inputs, hidden layers and outputs
  all ``N`` wide) on ``batch`` inputs with i.i.d. N(0, 1) entries, in which rows ``2i``
  and ``2i + 1`` have correlation ``input_correlation``, to ``max(depths)`` layers in
  one ``lax.scan``; each shallower depth is a prefix of that run. Layers:
  ``h^l = x^{l-1} W^l + b^l``, ``x^l = phi(h^l)`` (``"mlp"``) or
  ``x^l = x^{l-1} + branch_scale * (phi(x^{l-1}) W^l + b^l)`` (``"resnet"``), with
  ``b ~ N(0, bias_std^2)``.

  Engines: ``"dense"`` draws every weight matrix. ``"gaussian"`` samples ``X W`` directly
  from its exact law, ``O(B^2 N)`` instead of ``O(B N^2)``: for i.i.d. Gaussian weights
  (columns i.i.d. ``N(0, sigma^2 X X^T)``) and for orthogonal ones (``X`` times a Haar
  frame, at ``width >= 2 * batch``). ``"auto"`` takes it per weight draw where it is
  cheaper, measured on a CPU: ``variance_scaling(..., "normal")`` schemes from
  ``width >= 16 * batch`` (1.4-2.0x faster there, 0.6-1.1x at 8x) and ``orthogonal`` ones
  from ``width >= 8 * batch`` (1.5-4.7x faster there, 0.5-2.4x at 4x; ``benchmarks/engines.py``);
  ``result.scheme_engines`` says which each scheme used.

  One program is compiled per width (``max(depths)`` only sets the scan length); seeds
  are a ``vmap`` axis, sharded over ``devices`` (default: all local devices). Seed ``s``
  uses ``fold_in(key, s)`` so a run is identical however it is sharded. For several
  hosts, call ``jax.distributed.initialize()`` first and pass ``jax.devices()``.

  Reproducibility: a configuration's random numbers depend only on ``key``, its seed
  index, its width and its scheme's distribution family, never on what else is in the
  sweep. Its statistics are the same up to float32 rounding, not bit for bit, when the
  sweep around it changes (other schemes of its family, their order, the number of seeds,
  the devices): XLA sums a batched matrix product in an order that depends on its shape.
  Over 16 layers of a network that neither explodes nor is chaotic the differences stay
  below 1e-5 in the log statistics (``log_q``, ``log_m``, ``log_grad``, ``log_norm0``) and
  in ``corr`` and ``spread`` with the dense engine, and below 1e-3 with the gaussian one
  (its float32 Cholesky amplifies rounding); where a network amplifies perturbations
  (exploding or chaotic) they grow with depth like any other, and runs agree statistically.

  Args:
    schemes: scheme names (``jaxinit schemes``), initializers, or ``{label: initializer}``.
    activations: activation names (as in :func:`jaxinit.gain`), elementwise callables, or
      ``{label: fn}``.
    depths: the depths to report, ints >= 1.
    widths: the widths, ints >= 1.
    batch: inputs per network, an even int >= 2: rows ``2i`` and ``2i + 1`` are a pair.
    seeds: independent networks per configuration, >= 1.
    key: an int seed, standing for ``jax.random.key(key)``, or a PRNG key (default seed 0).
    bias_std: std of the biases, >= 0.
    architecture: ``"mlp"`` or ``"resnet"``.
    engine: ``"auto"``, ``"dense"`` or ``"gaussian"``.
    devices: the devices to shard seeds over.
    branch_scale: the residual branch multiplier (``"resnet"``).
    input_correlation: correlation of paired inputs, in [0, 1).
    config: a :class:`SweepConfig` holding every option above, instead of passing them.
    progress: called as ``progress(phase, width, done, total)`` with phase ``"lower"``
      (a width's program traced and lowered, or found compiled), ``"compile"`` or ``"run"``.
    keep_partial: on ``KeyboardInterrupt`` while running, return the widths already
      finished (``result.interrupted`` is then True) instead of raising.
    cache: a folder to keep compiled programs in, so that a later process with the same grid
      loads them instead of tracing and compiling (``jaxinit sweep`` keeps them in
      ``~/.cache/jaxinit/programs``); None (default): this process only. jax's own
      configuration is left as it is.
    memory_limit: the bytes one call of a program may use on a device. The sweep estimates each
      width's memory before compiling and, when all the seeds would not fit, runs them in
      chunks (the same numbers, to float32 rounding); default: half of what the device has free.

  Returns:
    A :class:`SweepResult`; ``result.config`` is the configuration it ran.

  Raises:
    ValueError: any bad argument, named with its value (a :class:`SweepConfigError`), or
      ``config`` passed together with any of the options it holds.

  Examples:
    >>> from jaxinit.sweep import sweep
    >>> r = sweep(("he_normal",), ("relu",), depths=(4,), widths=(16,), batch=4, seeds=1)
    >>> r.verdict().tolist()
    [[[['stable']]]]
    >>> r.config.batch
    4
  """
  arguments = dict(locals())
  given = {name: value for name, value in arguments.items() if name in _D and not isinstance(value, _Default)}
  if config is None:
    config = SweepConfig(**given)
  elif given:
    names = ", ".join(sorted(given))
    advice = "pass the options either in config or as arguments, not both"
    raise SweepConfigError("config", config, f"comes with {names}: {advice}",
                           f"sweep: config= and {names} given together; {advice}")
  elif not isinstance(config, SweepConfig):
    raise SweepConfigError("config", config, "must be a SweepConfig")
  the_plan = plan(config, cache, memory_limit)
  programs = compile_programs(the_plan, progress)
  outputs, interrupted = run_programs(the_plan, programs, progress, keep_partial)
  return collect(the_plan, outputs, interrupted)
