"""The JIT core: a jitted, vmapped Monte-Carlo simulation of signal propagation through depth.

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
import math
import os
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxinit import _activations, _catalog, _core, _schemes

ENGINES = ("auto", "dense", "gaussian")
ARCHITECTURES = ("mlp", "resnet")
METRICS = ("log_q", "log_m", "log_grad", "corr", "dead", "spread", "finite", "log_norm0")
_STD_TRUNC = _schemes.TRUNCATED_STD


def _log_second_moment(x, axes=None):
  """log(mean(x^2)) over ``axes`` without overflow: -inf for all-zero x."""
  scale = jnp.max(jnp.abs(x), axis=axes, keepdims=True)
  safe = jnp.where(scale > 0, scale, 1.0)
  inner = jnp.mean(jnp.square(x / safe), axis=axes)
  scale, safe = jnp.squeeze(scale, axis=axes), jnp.squeeze(safe, axis=axes)
  return jnp.where(scale > 0, 2.0 * jnp.log(safe) + jnp.log(inner), -jnp.inf)


def _value_and_slope(activations, h):
  """phi(h) and phi'(h) for each activation's slice of h (A, K, B, N), in one jvp each."""
  outs = [jax.jvp(act.fn, (h[a],), (jnp.ones_like(h[a]),)) for a, act in enumerate(activations)]
  return jnp.stack([o[0] for o in outs]), jnp.stack([o[1] for o in outs])


def _pre_activation_stats(h):
  """(log second moment, paired-input correlation, spread across units) of h (..., B, N), sharing one rescale."""
  scale = jnp.max(jnp.abs(h), axis=(-2, -1), keepdims=True)
  safe = jnp.where(scale > 0, scale, 1.0)
  u = h / safe
  m2_rows = jnp.mean(u * u, axis=-1)  # (..., B)
  log_q = jnp.where(scale[..., 0, 0] > 0, 2.0 * jnp.log(safe[..., 0, 0]) + jnp.log(jnp.mean(m2_rows, axis=-1)),
                    -jnp.inf)
  n = (u.shape[-2] // 2) * 2
  a, b = u[..., 0:n:2, :], u[..., 1:n:2, :]
  num = jnp.mean(a * b, axis=-1)
  den = jnp.sqrt(m2_rows[..., 0:n:2] * m2_rows[..., 1:n:2])
  corr = jnp.mean(jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), 1.0), axis=-1)
  var_rows = jnp.maximum(m2_rows - jnp.square(jnp.mean(u, axis=-1)), 0.0)
  spread = jnp.mean(jnp.where(m2_rows > 0, var_rows / jnp.where(m2_rows > 0, m2_rows, 1.0), 0.0), axis=-1)
  return log_q, corr, spread


class _Scheme:
  """A scheme in the sweep: its label, initializer and, for variance-scaling ones, its spec."""

  def __init__(self, label: str, init: Callable, name: str | None = None):
    self.label, self.init = label, init
    spec = getattr(init, "spec", None)
    # a spec with a traced scale cannot set a compile-time std: treat the scheme as opaque
    self.spec = None if spec is not None and isinstance(spec.scale, jax.core.Tracer) else spec
    # what the compiled program depends on: the catalogue name, the spec, or the object itself
    if name is not None:
      self.cache_key = ("name", name)
    elif self.spec is not None:
      self.cache_key = ("spec", self.spec)
    else:
      self.cache_key = ("object", init)

  @property
  def family(self):
    return self.spec.distribution if self.spec is not None else None


def _standard_draw(key, shape, distribution: str):
  """Unit-variance draw for a variance-scaling family: what `_draw_scaled` multiplies by its std."""
  if distribution == "truncated_normal":
    return jax.random.truncated_normal(key, -2.0, 2.0, shape, jnp.float32) / _STD_TRUNC
  if distribution == "normal":
    return jax.random.normal(key, shape, jnp.float32)
  return jax.random.uniform(key, shape, jnp.float32, -1.0, 1.0) * math.sqrt(3.0)


def _weights(schemes: Sequence[_Scheme], key, width: int):
  """(K, N, N) weights for one layer; schemes of one family share one standard draw."""
  shape = (width, width)
  base = {}
  mats = []
  for s in schemes:
    if s.family is not None:
      if s.family not in base:
        base[s.family] = _standard_draw(key, shape, s.family)
      mats.append(base[s.family] * jnp.float32(math.sqrt(s.spec.variance(shape))))
    else:
      mats.append(s.init(key, shape, jnp.float32))
  return jnp.stack(mats)


_GAUSSIAN_MIN_RATIO = 16  # "auto" samples X W exactly from width >= 16 x batch, where it is cheaper
_GAUSSIAN_JITTER = 1e-5  # added to the unit diagonal: above float32 Gram rounding (~n 6e-8) for n <= 256


def _cholesky(a):
  """Lower Cholesky factor of a batch of SPD matrices, in plain jax ops (a loop over columns).

  XLA's CPU Cholesky calls LAPACK, which can deadlock when several XLA threads enter it inside
  a long scan; this loop has no custom call. Cost: n matrix-vector products per factor.
  """
  n = a.shape[-1]
  rows = jnp.arange(n)

  def column(j, low):
    row_j = low[..., j, :]  # entries k < j are set, the rest are 0
    pivot = jnp.sqrt(jnp.maximum(a[..., j, j] - jnp.sum(row_j * row_j, axis=-1), 1e-30))
    col = (a[..., :, j] - jnp.einsum("...ik,...k->...i", low, row_j)) / pivot[..., None]
    col = jnp.where(rows > j, col, jnp.where(rows == j, pivot[..., None], 0.0))
    return low.at[..., :, j].set(col)

  return jax.lax.fori_loop(0, n, column, jnp.zeros_like(a))


def _gaussian_layer(x, t, stds, key, bias, width: int):
  """Exact joint sample of (X W + b, T W) for W with i.i.d. N(0, std^2) entries.

  The columns of [X; T] W are i.i.d. N(0, std^2 G), G = [X; T][X; T]^T: drawn from a
  2B x 2B Cholesky factor with 2B x N normals instead of N x N, and O(B^2 N) flops
  (THEORY.md 7). G is factored as D C D with D the row norms and C the correlation
  matrix, so rows of very different size (a tangent grown by chi_1^L beside the signal)
  keep their own precision, and zero rows (a dead ReLU layer) stay exactly zero. The
  jitter on C's unit diagonal sets a floor of about 1e-5 on 1 - c.
  """
  xt = jnp.concatenate([x, t], axis=-2)  # (..., 2B, N)
  norms = jnp.sqrt(jnp.sum(jnp.square(xt), axis=-1))  # (..., 2B)
  alive = norms > 0
  unit = xt / jnp.where(alive, norms, 1.0)[..., None]
  corr = jnp.einsum("...in,...jn->...ij", unit, unit)
  n = corr.shape[-1]
  eye = jnp.eye(n, dtype=corr.dtype)
  corr = jnp.where(alive[..., :, None] & alive[..., None, :], corr, eye)  # a zero row: independent filler
  chol = _cholesky(corr + _GAUSSIAN_JITTER * eye) * norms[..., :, None]
  z = jax.random.normal(key, (n, width), jnp.float32)  # shared: common random numbers
  out = jnp.einsum("...ij,jn->...in", chol, z) * stds[..., None, None]
  b = x.shape[-2]
  return out[..., :b, :] + bias, out[..., b:, :]


def _make_runner(schemes: Sequence[_Scheme], activations: Sequence[_activations.Activation], width: int,
                 depth: int, batch: int, engine: str, architecture: str, input_correlation: float):
  """The per-seed simulation for one width (traced once per width)."""
  k_schemes, n_acts = len(schemes), len(activations)
  stds = None
  if engine == "gaussian":
    stds = jnp.asarray([math.sqrt(s.spec.variance((width, width))) for s in schemes], jnp.float32)

  def run(seed_key, bias_std, branch_scale):
    key_in, key_tan, key_layers = jax.random.split(seed_key, 3)
    g = jax.random.normal(key_in, (2, batch, width), jnp.float32)
    c0 = input_correlation
    x0 = g[0]
    partner = c0 * jnp.roll(g[0], 1, axis=0) + math.sqrt(1 - c0 * c0) * g[1]
    x0 = jnp.where((jnp.arange(batch) % 2 == 1)[:, None], partner, x0)  # rows 2i+1 correlate with 2i
    v0 = jax.random.normal(key_tan, (batch, width), jnp.float32)
    x = jnp.broadcast_to(x0, (n_acts, k_schemes, batch, width))
    t = jnp.broadcast_to(v0, x.shape)
    log_m0 = _log_second_moment(x0)
    log_m0_first = _log_second_moment(x0[0])

    def layer(carry, index):
      x, t = carry
      key = jax.random.fold_in(key_layers, index)
      key_w, key_b = jax.random.split(key)
      bias = bias_std * jax.random.normal(key_b, (width,), jnp.float32)
      if engine == "dense":
        # materialise the weights once: left fusable, XLA may recompute the RNG inside each matmul
        w = jax.lax.optimization_barrier(_weights(schemes, key_w, width))  # (K, N, N), all activations
      if architecture == "mlp":
        inp, tin = x, t
      else:  # the branch's input phi(x) and its tangent phi'(x) t
        phi, slope = _value_and_slope(activations, x)
        inp, tin = phi, slope * t
      # one batched op for every activation and scheme: (A, K, B, N)
      if engine == "dense":
        h = jnp.einsum("akbn,knm->akbm", inp, w) + bias
        th = jnp.einsum("akbn,knm->akbm", tin, w)
      else:
        h, th = _gaussian_layer(inp, tin, stds, key_w, bias, width)
      if architecture == "mlp":
        pre, tpre = h, th
        new_x, slope = _value_and_slope(activations, h)
        new_t = slope * th
      else:
        new_x = x + branch_scale * h
        new_t = t + branch_scale * th
        pre, tpre = new_x, new_t
      log_q, corr, spread = _pre_activation_stats(pre)
      row = dict(
          log_q=log_q,
          log_m=_log_second_moment(new_x, axes=(-2, -1)) - log_m0,
          log_grad=_log_second_moment(tpre, axes=(-2, -1)),
          corr=corr,
          dead=jnp.mean(slope == 0, axis=(-2, -1)),
          spread=spread,
          finite=jnp.all(jnp.isfinite(pre), axis=(-2, -1)) & jnp.all(jnp.isfinite(tpre), axis=(-2, -1)),
          log_norm0=_log_second_moment(new_x[..., 0, :], axes=-1) - log_m0_first,
      )
      return (new_x, new_t), row

    _, rows = jax.lax.scan(layer, (x, t), jnp.arange(depth))
    return {k: jnp.moveaxis(v, 0, -1) for k, v in rows.items()}  # (A, K, L)

  return run


DEFAULT_SCHEMES = ("he_normal", "glorot_normal", "lecun_normal", "orthogonal")
# compiled programs of this process, so a repeated sweep skips tracing and compiling
_PROGRAMS: dict = {}
_MAX_PROGRAMS = 64


def _check_int_list(values, name: str, where: str, minimum: int) -> tuple[int, ...]:
  if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
    values = (values,)
  try:
    out = tuple(values)
  except TypeError as e:
    raise ValueError(f"{where}: {name}={values!r} must be an int or a sequence of ints") from e
  if not out:
    raise ValueError(f"{where}: {name}={values!r} is empty")
  for v in out:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
      raise ValueError(f"{where}: {name}={values!r} must hold ints >= {minimum}; got {v!r}")
  return tuple(int(v) for v in out)


def _check_int(value, name: str, where: str, minimum: int) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise ValueError(f"{where}: {name}={value!r} must be an int >= {minimum}")
  return int(value)


def _resolve_schemes(schemes, where: str) -> list[_Scheme]:
  if isinstance(schemes, (str, bytes)) or callable(schemes):
    schemes = (schemes,)
  items = schemes.items() if isinstance(schemes, Mapping) else [(None, s) for s in schemes]
  out = []
  for label, s in items:
    if isinstance(s, str):
      out.append(_Scheme(str(label or s), _catalog.lookup(s, where=where), name=s))
    elif callable(s):
      out.append(_Scheme(str(label or getattr(s, "__name__", f"scheme{len(out)}")), s))
    else:
      raise ValueError(f"{where}: schemes entry {s!r} must be a scheme name or an initializer")
  _check_labels("schemes", schemes, [s.label for s in out], where)
  return out


def _resolve_activations(activations, where: str) -> list[_activations.Activation]:
  if isinstance(activations, str) or callable(activations):
    activations = (activations,)
  if isinstance(activations, Mapping):
    acts = [_activations.resolve(fn, where=where)._replace(name=str(label)) for label, fn in activations.items()]
  else:
    acts = [_activations.resolve(a, where=where) for a in activations]
  _check_labels("activations", activations, [a.name for a in acts], where)
  return acts


def _check_labels(name: str, given, labels: list[str], where: str) -> None:
  if not labels:
    raise ValueError(f"{where}: {name}={given!r} is empty")
  if len(set(labels)) != len(labels):
    raise ValueError(f"{where}: {name}={labels!r} repeats a label")


def _pick_engine(engine: str, schemes: Sequence[_Scheme], width: int, batch: int, where: str) -> str:
  gaussian_ok = all(s.family == "normal" for s in schemes)
  if engine == "gaussian" and not gaussian_ok:
    bad = [s.label for s in schemes if s.family != "normal"]
    raise ValueError(f"{where}: engine='gaussian' is exact only for i.i.d. Gaussian weights "
                     f"(variance_scaling(..., 'normal')); not for schemes {bad}")
  if engine == "auto":
    return "gaussian" if gaussian_ok and width >= _GAUSSIAN_MIN_RATIO * batch else "dense"
  return engine


def sweep(schemes=DEFAULT_SCHEMES, activations=("relu", "tanh"), depths=range(1, 129),
          widths=(32, 64, 128, 256, 512), batch: int = 128, seeds: int = 4, key=None,
          bias_std: float = 0.0, architecture: str = "mlp", engine: str = "auto", devices=None, *,
          branch_scale: float = 1.0, input_correlation: float = 0.0,
          progress: Callable[[str, int, int, int], None] | None = None, keep_partial: bool = False):
  """Simulates signal propagation for every scheme x activation x width x seed, to the deepest depth.

  Each configuration runs one network of width ``N`` (inputs, hidden layers and outputs
  all ``N`` wide) on ``batch`` inputs with i.i.d. N(0, 1) entries, in which rows ``2i``
  and ``2i + 1`` have correlation ``input_correlation``, to ``max(depths)`` layers in
  one ``lax.scan``; each shallower depth is a prefix of that run. Layers:
  ``h^l = x^{l-1} W^l + b^l``, ``x^l = phi(h^l)`` (``"mlp"``) or
  ``x^l = x^{l-1} + branch_scale * (phi(x^{l-1}) W^l + b^l)`` (``"resnet"``), with
  ``b ~ N(0, bias_std^2)``.

  Engines: ``"dense"`` draws every weight matrix. ``"gaussian"`` samples ``X W`` directly
  from its exact law for i.i.d. Gaussian weights (columns i.i.d.
  ``N(0, sigma^2 X X^T)``): exact in distribution, ``O(B^2 N)`` instead of ``O(B N^2)``.
  ``"auto"`` takes it per width when every scheme is ``variance_scaling(..., "normal")``
  and ``width >= 16 * batch`` (measured: 2.9x faster than "dense" there, even at 8x).

  One program is compiled per width (``max(depths)`` only sets the scan length); seeds
  are a ``vmap`` axis, sharded over ``devices`` (default: all local devices). Seed ``s``
  uses ``fold_in(key, s)`` so a run is identical however it is sharded. For several
  hosts, call ``jax.distributed.initialize()`` first and pass ``jax.devices()``.

  Args:
    schemes: scheme names (``jaxinit schemes``), initializers, or ``{label: initializer}``.
    activations: activation names (as in :func:`jaxinit.gain`), callables, or ``{label: fn}``.
    depths: the depths to report, ints >= 1.
    widths: the widths, ints >= 1.
    batch: inputs per network, >= 2.
    seeds: independent networks per configuration, >= 1.
    key: a PRNG key (default ``jax.random.key(0)``).
    bias_std: std of the biases, >= 0.
    architecture: ``"mlp"`` or ``"resnet"``.
    engine: ``"auto"``, ``"dense"`` or ``"gaussian"``.
    devices: the devices to shard seeds over.
    branch_scale: the residual branch multiplier (``"resnet"``).
    input_correlation: correlation of paired inputs, in [0, 1).
    progress: called as ``progress(phase, width, done, total)`` with phase
      ``"compile"`` or ``"run"``.
    keep_partial: on ``KeyboardInterrupt`` while running, return the widths already
      finished (``result.interrupted`` is then True) instead of raising.

  Returns:
    A :class:`SweepResult`.

  Raises:
    ValueError: any bad argument, named with its value.

  Examples:
    >>> import jaxinit
    >>> r = jaxinit.sweep(("he_normal",), ("relu",), depths=(4,), widths=(16,), batch=4, seeds=1)
    >>> r.verdict().tolist()
    [[[['stable']]]]
  """
  from jaxinit._result import SweepResult

  where = "sweep"
  scheme_list = _resolve_schemes(schemes, where)
  act_list = _resolve_activations(activations, where)
  depth_t = tuple(sorted(set(_check_int_list(depths, "depths", where, 1))))
  width_t = _check_int_list(widths, "widths", where, 1)
  if len(set(width_t)) != len(width_t):
    raise ValueError(f"{where}: widths={width_t!r} repeats a width")
  batch = _check_int(batch, "batch", where, 2)
  seeds = _check_int(seeds, "seeds", where, 1)
  _core.check_positive(bias_std, "bias_std", where, allow_zero=True)
  _core.check_finite(branch_scale, "branch_scale", where)
  _core.check_choice(architecture, "architecture", ARCHITECTURES, where)
  _core.check_choice(engine, "engine", ENGINES, where)
  if not 0.0 <= float(input_correlation) < 1.0:
    raise ValueError(f"{where}: input_correlation={input_correlation!r} must be in [0, 1)")
  key = jax.random.key(0) if key is None else key
  if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    key = jax.random.wrap_key_data(key)
  devices = list(jax.local_devices() if devices is None else devices)
  if not devices:
    raise ValueError(f"{where}: devices={devices!r} is empty")
  max_depth = depth_t[-1]
  padded = -(-seeds // len(devices)) * len(devices)
  seed_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(padded))
  sharding = None
  if len(devices) > 1:
    mesh = jax.sharding.Mesh(np.asarray(devices), ("seeds",))
    sharding = NamedSharding(mesh, P("seeds"))
    seed_keys = jax.device_put(seed_keys, sharding)
  engines = tuple(_pick_engine(engine, scheme_list, w, batch, where) for w in width_t)
  bias = jnp.float32(bias_std)
  branch = jnp.float32(branch_scale)

  # lower every width here (Python), then compile them in parallel: XLA's compiler releases the GIL
  lowered, compiled = {}, {}
  for i, (width, eng) in enumerate(zip(width_t, engines, strict=True)):
    cache_key = (tuple(s.cache_key for s in scheme_list), tuple(a.fn for a in act_list), width, max_depth,
                 batch, eng, architecture, float(input_correlation), padded, tuple(devices))
    if cache_key in _PROGRAMS:
      compiled[i] = _PROGRAMS[cache_key]
      continue
    run = _make_runner(scheme_list, act_list, width, max_depth, batch, eng, architecture,
                       float(input_correlation))
    batched = jax.vmap(run, in_axes=(0, None, None))
    jitted = jax.jit(batched) if sharding is None else jax.jit(
        batched, in_shardings=(sharding, None, None), out_shardings=sharding)
    options = _compiler_options(width, max_depth, padded, len(scheme_list) + len(act_list))
    lowered[i] = (cache_key, jitted.lower(seed_keys, bias, branch), options)
  if progress:
    progress("compile", width_t[0], len(compiled), len(width_t))
  if lowered:
    workers = min(len(lowered), os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
      futures = {pool.submit(low.compile, compiler_options=opts): (i, key)
                 for i, (key, low, opts) in lowered.items()}
      for future in concurrent.futures.as_completed(futures):
        i, key = futures[future]
        compiled[i] = _PROGRAMS[key] = future.result()
        while len(_PROGRAMS) > _MAX_PROGRAMS:
          _PROGRAMS.pop(next(iter(_PROGRAMS)))
        if progress:
          progress("compile", width_t[i], len(compiled), len(width_t))
  compiled = [compiled[i] for i in range(len(width_t))]

  per_width = []
  interrupted = False
  try:
    for i, (width, fn) in enumerate(zip(width_t, compiled, strict=True)):
      if progress:
        progress("run", width, i, len(width_t))
      out = fn(seed_keys, bias, branch)  # each metric: (S_pad, A, K, L)
      per_width.append(jax.block_until_ready(out))
    if progress:
      progress("run", width_t[-1], len(width_t), len(width_t))
  except KeyboardInterrupt:
    if not (keep_partial and per_width):
      raise
    interrupted = True
  width_t, engines = width_t[:len(per_width)], engines[:len(per_width)]

  # (S, A, K, L) per width -> (K, A, W, S, L), a single host transfer at the end
  metrics = {
      m: np.stack([np.asarray(jax.device_get(o[m]))[:seeds] for o in per_width], axis=0).transpose(3, 2, 0, 1, 4)
      for m in METRICS}
  return SweepResult(
      **{m: jnp.asarray(v) for m, v in metrics.items()},
      schemes=tuple(s.label for s in scheme_list),
      activations=tuple(a.name for a in act_list),
      widths=width_t, depths=depth_t, seeds=seeds, batch=batch, bias_std=float(bias_std),
      architecture=architecture, engines=engines, branch_scale=float(branch_scale),
      input_correlation=float(input_correlation),
      sigma_w2=tuple(tuple(_sigma_w2(s, w) for w in width_t) for s in scheme_list),
      activation_params=tuple(a.param for a in act_list),
      activation_fns=tuple(a.fn for a in act_list), interrupted=interrupted)


# Below this many (layer x seed x N^2 x (schemes + activations)) units of work, XLA's backend
# optimisation costs more (seconds of LLVM time) than it saves at run time.
_SMALL_WORK = 4e6


def _compiler_options(width: int, depth: int, seeds: int, lanes: int) -> dict:
  if depth * seeds * width * width * lanes < _SMALL_WORK:
    return {"xla_backend_optimization_level": 0}
  return {}


def _sigma_w2(scheme: _Scheme, width: int) -> float:
  """fan_in x Var(W) for a square width x width kernel: the mean-field sigma_w^2."""
  shape = (width, width)
  if scheme.spec is not None:
    return float(scheme.spec.variance(shape) * width)
  w = scheme.init(jax.random.key(0), shape, jnp.float32)
  return float(jnp.mean(jnp.square(w)) * width)
