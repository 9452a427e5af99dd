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

import concurrent.futures
import os
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxinit.sweep import _engines, _layer
from jaxinit.sweep._config import SweepConfig, SweepConfigError
from jaxinit.sweep._result import METRICS, SweepResult

# compiled programs of this process, so a repeated sweep skips tracing and compiling
_PROGRAMS: dict = {}
_MAX_PROGRAMS = 64
# XLA's backend optimisation level per program: level 0 compiles in about half the time and runs
# about 3x slower, level 1 saves a fifth of the compile time and runs as fast as the default
# (measured on a 2-core CPU). A program runs about 1e-8 s per unit of (layer x seed x N^2 x
# scheme x activation) work: level 0 only where the whole run takes about 10 ms.
_SMALL_WORK = 1e6


class Plan(NamedTuple):
  """What the programs need, decided before anything compiles."""
  config: SweepConfig
  devices: tuple
  padded_seeds: int  # seeds rounded up to a multiple of the device count
  seed_keys: jax.Array  # (padded_seeds,) fold_in(key, s)
  sharding: NamedSharding | None
  sampled: tuple[tuple[bool, ...], ...]  # per width, per group: the "gaussian" engine
  scheme_engines: tuple[tuple[str, ...], ...]  # per scheme, per width


def plan(config: SweepConfig) -> Plan:
  """Devices, seed keys and engines for ``config``."""
  devices = tuple(jax.local_devices() if config.devices is None else config.devices)
  padded = -(-config.seeds // len(devices)) * len(devices)
  key = config.prng_key()
  seed_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(padded))
  sharding = None
  if len(devices) > 1:
    sharding = NamedSharding(jax.sharding.Mesh(np.asarray(devices), ("seeds",)), P("seeds"))
    seed_keys = _global_keys(seed_keys, sharding)
  schemes = config.schemes
  platform = devices[0].platform
  sampled = tuple(_engines.pick_sampled(config.engine, schemes, w, config.batch, platform) for w in config.widths)
  group_of = {i: gi for gi, g in enumerate(_engines.group_schemes(schemes)) for i in g.members}
  scheme_engines = tuple(tuple("gaussian" if s[group_of[i]] else "dense" for s in sampled)
                         for i in range(len(schemes)))
  return Plan(config, devices, padded, seed_keys, sharding, sampled, scheme_engines)


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


def _traced_args(config: SweepConfig):
  # numpy scalars, not jax arrays: a multi-process program takes host values for its replicated arguments
  return np.float32(config.bias_std), np.float32(config.branch_scale)


def _program_key(the_plan: Plan, index: int) -> tuple:
  """What a width's compiled program depends on. Initializers and activations enter by identity
  (their objects are kept alive beside the program), so unhashable callables work too."""
  config, width = the_plan.config, the_plan.config.widths[index]
  schemes = tuple((s.family, s.log_std(width)) if s.family is not None else ("object", id(s.init))
                  for s in config.schemes)
  return (schemes, tuple(id(a.fn) for a in config.activations), width, config.max_depth, config.batch,
          the_plan.sampled[index], config.architecture, config.input_correlation, config.bias_std > 0,
          the_plan.padded_seeds, the_plan.devices)


def _lower(the_plan: Plan, index: int):
  config = the_plan.config
  net = _layer.Network(config.activations, config.widths[index], config.batch, config.bias_std > 0)
  run = _layer.make_run(config.schemes, net, config.max_depth, the_plan.sampled[index], config.architecture,
                        config.input_correlation)
  batched = jax.vmap(run, in_axes=(0, None, None))
  sharding = the_plan.sharding
  jitted = jax.jit(batched) if sharding is None else jax.jit(
      batched, in_shardings=(sharding, None, None), out_shardings=sharding)
  return jitted.lower(the_plan.seed_keys, *_traced_args(config))


def _compiler_options(width: int, depth: int, seeds: int, configs: int) -> dict:
  level = 0 if depth * seeds * width * width * configs < _SMALL_WORK else 1
  return {"xla_backend_optimization_level": level}


def compile_programs(the_plan: Plan, progress: Callable | None = None) -> list:
  """One compiled program per width, from the process's cache where it has it.

  Each width is lowered (Python, holding the GIL) while earlier widths compile: XLA's
  compiler releases it.
  """
  config = the_plan.config
  widths = config.widths
  keep_alive = (tuple(s.init for s in config.schemes), tuple(a.fn for a in config.activations))
  compiled, futures = {}, {}
  with concurrent.futures.ThreadPoolExecutor(max(1, min(len(widths), os.cpu_count() or 1))) as pool:
    for i, width in enumerate(widths):
      key = _program_key(the_plan, i)
      if key in _PROGRAMS:
        compiled[i] = _PROGRAMS[key][0]
        continue
      options = _compiler_options(width, config.max_depth, the_plan.padded_seeds,
                                  len(config.schemes) * len(config.activations))
      futures[pool.submit(_lower(the_plan, i).compile, compiler_options=options)] = (i, key)
    if progress:
      progress("compile", widths[0], len(compiled), len(widths))
    for future in concurrent.futures.as_completed(futures):
      i, key = futures[future]
      compiled[i] = future.result()
      _PROGRAMS[key] = (compiled[i], keep_alive)
      while len(_PROGRAMS) > _MAX_PROGRAMS:
        _PROGRAMS.pop(next(iter(_PROGRAMS)))
      if progress:
        progress("compile", widths[i], len(compiled), len(widths))
  return [compiled[i] for i in range(len(widths))]


def run_programs(the_plan: Plan, programs, progress: Callable | None = None,
                 keep_partial: bool = False) -> tuple[list[dict], bool]:
  """Runs each width's program; returns its outputs (each metric (S_pad, A, K, L)) and whether interrupted."""
  widths = the_plan.config.widths
  args = (the_plan.seed_keys, *_traced_args(the_plan.config))
  outputs = []
  try:
    for i, (width, program) in enumerate(zip(widths, programs, strict=True)):
      if progress:
        progress("run", width, i, len(widths))
      outputs.append(jax.block_until_ready(program(*args)))
    if progress:
      progress("run", widths[-1], len(widths), len(widths))
  except KeyboardInterrupt:
    if not (keep_partial and outputs):
      raise
    return outputs, True
  return outputs, False


def collect(the_plan: Plan, outputs: list[dict], interrupted: bool) -> SweepResult:
  """The result: (K, A, W, S, L) arrays in one host transfer, and each scheme's sigma_w^2 per width."""
  config = the_plan.config
  seeds, done = config.seeds, len(outputs)
  host = [jax.tree.map(_to_host, o) for o in outputs]
  metrics = {m: np.stack([np.asarray(o[m])[:seeds] for o in host], axis=0).transpose(3, 2, 0, 1, 4)
             for m in METRICS}
  sigma_w2 = tuple(tuple(s.sigma_w2(w) if s.sigma_w2(w) is not None
                         else float(np.mean(np.asarray(o["sigma_w2"])[:seeds, i]))
                         for w, o in zip(config.widths[:done], host, strict=True))
                   for i, s in enumerate(config.schemes))
  return SweepResult(**{m: jnp.asarray(v) for m, v in metrics.items()}, config=config,
                     scheme_engines=tuple(e[:done] for e in the_plan.scheme_engines), sigma_w2=sigma_w2,
                     interrupted=interrupted)


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
          keep_partial: bool = False) -> SweepResult:
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
    progress: called as ``progress(phase, width, done, total)`` with phase
      ``"compile"`` or ``"run"``.
    keep_partial: on ``KeyboardInterrupt`` while running, return the widths already
      finished (``result.interrupted`` is then True) instead of raising.

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
  the_plan = plan(config)
  programs = compile_programs(the_plan, progress)
  outputs, interrupted = run_programs(the_plan, programs, progress, keep_partial)
  return collect(the_plan, outputs, interrupted)
