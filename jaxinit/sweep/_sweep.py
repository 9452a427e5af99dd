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
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxinit.core import _activations
from jaxinit.initializers import _catalog
from jaxinit.core import _checks
from jaxinit.initializers import _variance_scaling
from jaxinit.initializers import _structured
from jaxinit.initializers._describe import describe

ENGINES = ("auto", "dense", "gaussian")
ARCHITECTURES = ("mlp", "resnet")
METRICS = ("log_q", "log_m", "log_grad", "corr", "dead", "spread", "finite", "log_norm0")
_STD_TRUNC = _variance_scaling.TRUNCATED_STD


def _log_second_moment(x, axes=None):
  """log(mean(x^2)) over ``axes`` without overflow: -inf for all-zero x."""
  scale = jnp.max(jnp.abs(x), axis=axes, keepdims=True)
  safe = jnp.where(scale > 0, scale, 1.0)
  inner = jnp.mean(jnp.square(x / safe), axis=axes)
  scale, safe = jnp.squeeze(scale, axis=axes), jnp.squeeze(safe, axis=axes)
  return jnp.where(scale > 0, 2.0 * jnp.log(safe) + jnp.log(inner), -jnp.inf)


class _Scheme:
  """A scheme in the sweep: its label, its initializer and what it draws, when that is known."""

  def __init__(self, label: str, init: Callable, name: str | None = None):
    self.label, self.init = label, init
    drawn = describe(init)
    spec, haar = drawn.spec, drawn.scale
    # a traced scale cannot set a compile-time std: treat the scheme as opaque
    self.spec = None if spec is None or isinstance(spec.scale, jax.core.Tracer) else spec
    self.haar_scale = None if haar is None or isinstance(haar, jax.core.Tracer) else float(haar)
    # what the compiled program depends on: the catalogue name, the spec, or the object itself
    if name is not None:
      self.cache_key = ("name", name)
    elif self.spec is not None:
      self.cache_key = ("spec", self.spec)
    elif self.haar_scale is not None:
      self.cache_key = ("orthogonal", self.haar_scale)
    else:
      self.cache_key = ("object", init)

  @property
  def family(self) -> str | None:
    """The unit draw this scheme scales: a variance-scaling distribution, "orthogonal", or None (opaque)."""
    if self.spec is not None:
      return self.spec.distribution
    return "orthogonal" if self.haar_scale is not None else None

  def log_std(self, width: int) -> float:
    """log of the factor on the family's unit draw (a Haar matrix for "orthogonal"); 0 if opaque."""
    if self.spec is not None:
      return 0.5 * math.log(self.spec.variance((width, width)))
    return math.log(self.haar_scale) if self.haar_scale is not None else 0.0

  def sigma_w2(self, width: int) -> float | None:
    """fan_in x Var(W) of a square kernel, the mean-field sigma_w^2; None if only a draw can tell."""
    if self.spec is not None:
      return float(self.spec.variance((width, width)) * width)
    return self.haar_scale ** 2 if self.haar_scale is not None else None


class _Group(NamedTuple):
  """Schemes that multiply one weight draw: a family's unit draw, or one opaque initializer."""
  members: tuple[int, ...]  # indices into the scheme list
  family: str | None  # the shared family, or None for an opaque initializer
  init: Callable | None  # the opaque initializer


def _group_schemes(schemes: Sequence[_Scheme]) -> list[_Group]:
  groups: list[_Group] = []
  by_family: dict[str, int] = {}
  for i, s in enumerate(schemes):
    if s.family is None:
      groups.append(_Group((i,), None, s.init))
    elif s.family in by_family:
      j = by_family[s.family]
      groups[j] = groups[j]._replace(members=groups[j].members + (i,))
    else:
      by_family[s.family] = len(groups)
      groups.append(_Group((i,), s.family, None))
  return groups


def _one_at_a_time(fn):
  """``fn`` of one array, batched by ``lax.map`` instead of vectorised: one call per batch element.

  jaxlib 0.10's CPU LAPACK kernels (QR here) split a batched call over XLA's intra-op thread
  pool and wait for it from inside that pool; when the layers' independent draws run at once,
  every pool thread can end up waiting so, and the run hangs. One matrix per call never waits.
  The same holds for an opaque initializer, which may call LAPACK itself.
  """
  wrapped = jax.custom_batching.custom_vmap(fn)

  @wrapped.def_vmap
  def _rule(axis_size, in_batched, x):
    del axis_size
    return (jax.lax.map(wrapped, x), True) if in_batched[0] else (wrapped(x), False)

  return wrapped


def _drawn(init, shape):
  """``init``'s float32 draw of ``shape`` from a key, one key at a time under ``vmap``."""
  def draw(key):
    return init(key, shape, jnp.float32)
  return _one_at_a_time(draw)


def _standard_draw(key, shape, family: str):
  """A family's unit draw: unit-variance entries, or a Haar matrix for "orthogonal"."""
  if family == "truncated_normal":
    return jax.random.truncated_normal(key, -2.0, 2.0, shape, jnp.float32) / _STD_TRUNC
  if family == "normal":
    return jax.random.normal(key, shape, jnp.float32)
  if family == "orthogonal":
    return _drawn(_structured.orthogonal(), shape)(key)
  return jax.random.uniform(key, shape, jnp.float32, -1.0, 1.0) * math.sqrt(3.0)


def _group_draws(groups: Sequence[_Group], sampled: Sequence[bool], key, width: int, batch: int):
  """Per group, a layer's random numbers: its (N, N) weights, or the 2B x N factor of a sampled product."""
  draws = []
  for g, s in zip(groups, sampled, strict=True):
    if not s:
      shape = (width, width)
      draws.append(_standard_draw(key, shape, g.family) if g.family is not None else _drawn(g.init, shape)(key))
    elif g.family == "orthogonal":  # a Haar frame: orthonormal columns of a tall Haar draw, as rows
      draws.append(_drawn(_structured.orthogonal(), (width, 2 * batch))(key).T)
    else:
      draws.append(jax.random.normal(key, (2 * batch, width), jnp.float32))
  return draws


# "auto" samples X W from width >= ratio x batch, where that is cheaper than drawing W (measured)
_SAMPLED_MIN_RATIO = {"normal": 16, "orthogonal": 8}
_GAUSSIAN_JITTER = 1e-5  # added to the unit diagonal: above float32 Gram rounding (~n 6e-8) for n <= 256
_EXP_LIMIT = 100.0  # |log2| of the forward carry's scale: keeps 2^e and 2^-e normal float32 numbers


def _cholesky(a):
  """Lower Cholesky factor of a batch of SPD matrices, in plain jax ops (a loop over columns).

  jaxlib's CPU Cholesky of a batch of matrices waits on XLA's thread pool from inside it and can
  hang a long scan (see `_one_at_a_time`); this loop has no custom call. Cost: n matrix-vector
  products per factor.
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


def _sampled_product(xt, factor):
  """Exact sample of ``xt @ W`` from a 2B x N ``factor``, without drawing W.

  For W with i.i.d. N(0, 1) entries, the columns of ``xt W`` are i.i.d. N(0, G), G = xt xt^T:
  they are L z for z (2B x N) i.i.d. normal and L L^T = G. For W Haar orthogonal (2B <= N),
  xt = L U with U = L^-1 xt orthonormal rows, and U W is a Haar frame F: ``xt W`` is L F. Both
  cost O(B^2 N) instead of O(B N^2) (THEORY.md 7). L is taken as D chol(C) with D the row
  norms and C the correlation matrix, so rows of very different size keep their own
  precision and zero rows (a dead ReLU layer) stay exactly zero. The jitter on C's unit
  diagonal sets a floor of about 1e-5 on 1 - c.
  """
  norms = jnp.sqrt(jnp.sum(jnp.square(xt), axis=-1))  # (..., 2B)
  alive = norms > 0
  unit = xt / jnp.where(alive, norms, 1.0)[..., None]
  corr = jnp.einsum("...in,...jn->...ij", unit, unit)
  eye = jnp.eye(corr.shape[-1], dtype=corr.dtype)
  corr = jnp.where(alive[..., :, None] & alive[..., None, :], corr, eye)  # a zero row: independent filler
  chol = _cholesky(corr + _GAUSSIAN_JITTER * eye) * norms[..., :, None]
  return jnp.einsum("...ij,jn->...in", chol, factor)  # the factor is shared: common random numbers


def _col(v):
  """(..., K) -> (..., K, 1, 1): one value per configuration, broadcast over rows and units."""
  return v[..., None, None]


def _row_sums(y, bias):
  """Per row of y (..., R, N): (sum y^2, sum y * bias, sum y), each read by a matrix product."""
  sq = jnp.einsum("...rn,...rn->...r", y, y)
  lin = jnp.einsum("...rn,nj->...rj", y, jnp.stack([bias, jnp.ones_like(bias)], axis=-1))
  return sq, lin[..., 0], lin[..., 1]


def _signal_stats(log_x, sq, dot_b, total, pairs, bias, width: int):
  """Statistics of h = X y + b from y's row sums, in float32 without overflow.

  ``log_x`` (...,) is log X; ``sq``, ``dot_b``, ``total`` (..., B) are the rows' sums of y^2,
  y * b and y; ``pairs`` (..., B/2) are the sums y_{2i} * y_{2i+1}. Every term is taken
  relative to the largest, exp(M), so only logs carry the magnitude.

  Returns:
    (log mean h^2, mean paired cosine, mean spread across units), each (...,).
  """
  n = sq.shape[-1]
  bb = jnp.sum(bias * bias)
  big = jnp.maximum(2.0 * log_x + jnp.log(jnp.max(sq, axis=-1)), jnp.log(bb))
  big = jnp.where(jnp.isfinite(big), big, 0.0)[..., None]  # all-zero rows: any scale will do
  log_x = log_x[..., None]
  a = jnp.exp(2.0 * log_x - big)
  cross = dot_b * jnp.exp(log_x - big)
  c = bb * jnp.exp(-big)
  m2 = sq * a + 2.0 * cross + c  # sum_n h^2 per row, times exp(-M)
  mean = total * jnp.exp(log_x - 0.5 * big) + jnp.sum(bias) * jnp.exp(-0.5 * big)  # sum_n h, times exp(-M/2)
  prod = pairs * a + cross[..., 0:n:2] + cross[..., 1:n:2] + c
  den = jnp.sqrt(m2[..., 0:n:2] * m2[..., 1:n:2])
  corr = jnp.mean(jnp.where(den > 0, prod / jnp.where(den > 0, den, 1.0), 1.0), axis=-1)
  var = jnp.maximum(m2 - jnp.square(mean) / width, 0.0)
  spread = jnp.mean(jnp.where(m2 > 0, var / jnp.where(m2 > 0, m2, 1.0), 0.0), axis=-1)
  log_q = big[..., 0] + jnp.log(jnp.sum(m2, axis=-1)) - math.log(n * width)
  return log_q, corr, spread


def _next_exponent(exp, sq, count: int, limit: float | None):
  """The power of two that brings the scaled carry (sum of squares ``sq``) back to unit size."""
  m = sq / count
  step = jnp.round(0.5 * jnp.log2(jnp.where((m > 0) & jnp.isfinite(m), m, 1.0)))
  out = exp + step
  return out if limit is None else jnp.clip(out, -limit, limit)


def _make_runner(schemes: Sequence[_Scheme], activations: Sequence[_activations.Activation], width: int,
                 depth: int, batch: int, sampled: Sequence[bool], architecture: str, input_correlation: float,
                 has_bias: bool):
  """The per-seed simulation for one width (traced once per width).

  Schemes are grouped by the weights they multiply (`_group_schemes`); each group carries one
  (A, K, 2B, N) array for its A activations and K schemes: B signal rows over B tangent rows,
  each held as 2^-e times its true value, with one power of two e per (activation, scheme)
  for the signal and one for the tangent. A layer is then one matrix product per group with
  no copies, the statistics are read from the product and the new carry by matrix products,
  and no magnitude the float32 forward pass can hold overflows them.
  """
  groups = _group_schemes(schemes)  # sampled: per group, whether X W is sampled (the "gaussian" engine)
  inverse = np.argsort([i for g in groups for i in g.members])
  log_stds = [np.asarray([schemes[i].log_std(width) for i in g.members], np.float32) for g in groups]
  ln2 = math.log(2.0)
  n_acts, count = len(activations), batch * width

  def slopes(x):
    """phi(x) and phi'(x) for each activation's slice of x (A, K, B, N), one jvp each."""
    outs = [jax.jvp(act.fn, (x[a],), (jnp.ones_like(x[a]),)) for a, act in enumerate(activations)]
    return jnp.stack([o[0] for o in outs]), jnp.stack([o[1] for o in outs])

  def matmul(xt, draw, sampled: bool):
    """xt @ W for a group's draw: its (N, N) weights, or the (2B, N) factor of a sampled product."""
    return _sampled_product(xt, draw) if sampled else (xt.reshape(-1, width) @ draw).reshape(xt.shape)

  def block(xt, exps, nexts, draw, sampled, bias, beta, log_std):
    """One layer for one group: the new carry, the exponents after it, and the statistics (A, K)."""
    (ex, et), (ex_n, et_n) = exps, nexts
    std = jnp.exp(jnp.asarray(log_std))[:, None, None]
    bias = bias if has_bias else jnp.zeros_like(bias)
    if architecture == "mlp":
      hh = matmul(xt, draw, sampled)
      h = hh[..., :batch, :] * _col(jnp.exp(log_std + ln2 * ex))
      if has_bias:
        h = h + bias
      phi, slope = slopes(h)
      new = jnp.concatenate([phi * _col(jnp.exp2(-ex_n)), slope * hh[..., batch:, :] * std * _col(jnp.exp2(et - et_n))],
                            axis=-2)
      new = jax.lax.optimization_barrier(new)  # read by the statistics below, not recomputed in each
      sq_all, dot_b, total = _row_sums(hh, bias)  # pre-activations h = X hh + b, X = std 2^ex
      new_sq = jnp.einsum("...rn,...rn->...r", new, new)
      y, log_x, t_sq, log_t = hh, log_std + ln2 * ex, sq_all[..., batch:], log_std + ln2 * et
    else:
      phi, slope = slopes(xt[..., :batch, :] * _col(jnp.exp2(ex)))
      hh = matmul(jnp.concatenate([phi * _col(jnp.exp2(-ex)), slope * xt[..., batch:, :]], axis=-2), draw, sampled)
      branch = hh[..., :batch, :] * std + (bias * _col(jnp.exp2(-ex)) if has_bias else 0.0)
      new = jnp.concatenate([(xt[..., :batch, :] + beta * branch) * _col(jnp.exp2(ex - ex_n)),
                             (xt[..., batch:, :] + beta * std * hh[..., batch:, :]) * _col(jnp.exp2(et - et_n))],
                            axis=-2)
      new = jax.lax.optimization_barrier(new)
      bias = jnp.zeros_like(bias)  # the residual stream x = 2^ex_n new carries no separate bias
      sq_all, dot_b, total = _row_sums(new, bias)
      new_sq = sq_all
      y, log_x, t_sq, log_t = new, ln2 * ex_n, sq_all[..., batch:], ln2 * et_n
    pairs = jnp.einsum("...bn,...bn->...b", y[..., 0:batch:2, :], y[..., 1:batch:2, :])
    log_q, corr, spread = _signal_stats(log_x, sq_all[..., :batch], dot_b[..., :batch], total[..., :batch], pairs,
                                        bias, width)
    x_sq, t_new_sq, t_sq = (jnp.sum(s, axis=-1) for s in (new_sq[..., :batch], new_sq[..., batch:], t_sq))
    stats = dict(
        log_q=log_q,
        log_m=2.0 * ln2 * ex_n + jnp.log(x_sq) - math.log(count),
        log_grad=2.0 * log_t + jnp.log(t_sq) - math.log(count),
        corr=corr,
        dead=jnp.mean(slope == 0, axis=(-2, -1)),
        spread=spread,
        finite=jnp.isfinite(x_sq + t_new_sq) & jnp.isfinite(t_sq),
        log_norm0=2.0 * ln2 * ex_n + jnp.log(new_sq[..., 0]) - math.log(width),
    )
    after = (_next_exponent(ex_n, x_sq, count, _EXP_LIMIT), _next_exponent(et_n, t_new_sq, count, None))
    return new, after, stats

  def run(seed_key, bias_std, branch_scale):
    key_in, key_tan, key_layers = jax.random.split(seed_key, 3)
    g = jax.random.normal(key_in, (2, batch, width), jnp.float32)
    c0 = input_correlation
    partner = c0 * jnp.roll(g[0], 1, axis=0) + math.sqrt(1 - c0 * c0) * g[1]
    x0 = jnp.where((jnp.arange(batch) % 2 == 1)[:, None], partner, g[0])  # rows 2i+1 correlate with 2i
    v0 = jax.random.normal(key_tan, (batch, width), jnp.float32)
    log_m0 = _log_second_moment(x0)
    log_m0_first = _log_second_moment(x0[0])
    xt0 = jnp.concatenate([x0, v0])
    carry = []
    for gr in groups:
      zero = jnp.zeros((n_acts, len(gr.members)), jnp.float32)
      carry.append((jnp.broadcast_to(xt0, (n_acts, len(gr.members), 2 * batch, width)), (zero, zero), (zero, zero)))

    def layer(carry, index):
      key = jax.random.fold_in(key_layers, index)
      key_w, key_b = jax.random.split(key)
      bias = bias_std * jax.random.normal(key_b, (width,), jnp.float32)
      # materialised once: left fusable, XLA would recompute the RNG inside each consumer
      draws, bias = jax.lax.optimization_barrier((_group_draws(groups, sampled, key_w, width, batch), bias))
      outs = [block(xt, exps, nexts, draw, s, bias, branch_scale, log_std)
              for (xt, exps, nexts), draw, s, log_std in zip(carry, draws, sampled, log_stds, strict=True)]
      new_carry = tuple((new, nexts, after) for (new, after, _), (_, _, nexts) in zip(outs, carry, strict=True))
      row = {k: jnp.concatenate([o[2][k] for o in outs], axis=1)[:, inverse] for k in outs[0][2]}  # (A, K)
      row["log_m"] = row["log_m"] - log_m0
      row["log_norm0"] = row["log_norm0"] - log_m0_first
      # N E[W^2] of the opaque initializers' matrices (the others' is known): their sigma_w^2
      w2 = jnp.concatenate([jnp.mean(jnp.square(w))[None] * width if g.family is None
                            else jnp.zeros(len(g.members)) for g, w in zip(groups, draws, strict=True)])
      return new_carry, (row, w2[inverse])

    _, (rows, w2) = jax.lax.scan(layer, tuple(carry), jnp.arange(depth))
    out = {k: jnp.moveaxis(v, 0, -1) for k, v in rows.items()}  # (A, K, L)
    out["sigma_w2"] = jnp.mean(w2, axis=0)  # (K,)
    return out

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


def _sampleable(family: str | None, width: int, batch: int) -> bool:
  return family == "normal" or (family == "orthogonal" and 2 * batch <= width)


def _pick_sampled(engine: str, schemes: Sequence[_Scheme], width: int, batch: int, where: str) -> tuple[bool, ...]:
  """Per group of `_group_schemes`, whether the layer samples X W from its law instead of drawing W."""
  groups = _group_schemes(schemes)
  if engine == "gaussian":
    bad = [schemes[i].label for g in groups if not _sampleable(g.family, width, batch) for i in g.members]
    if bad:
      raise ValueError(f"{where}: engine='gaussian' samples X W exactly only for Gaussian weights "
                       f"(variance_scaling(..., 'normal')) and orthogonal ones at width >= 2 x batch; not for "
                       f"schemes {bad} at width={width}, batch={batch}")
    return (True,) * len(groups)
  if engine == "auto":
    return tuple(_sampleable(g.family, width, batch) and width >= _SAMPLED_MIN_RATIO[g.family] * batch
                 for g in groups)
  return (False,) * len(groups)


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
  from jaxinit.sweep._result import SweepResult

  where = "sweep"
  scheme_list = _resolve_schemes(schemes, where)
  act_list = _resolve_activations(activations, where)
  depth_t = tuple(sorted(set(_check_int_list(depths, "depths", where, 1))))
  width_t = _check_int_list(widths, "widths", where, 1)
  if len(set(width_t)) != len(width_t):
    raise ValueError(f"{where}: widths={width_t!r} repeats a width")
  batch = _check_int(batch, "batch", where, 2)
  seeds = _check_int(seeds, "seeds", where, 1)
  _checks.check_positive(bias_std, "bias_std", where, allow_zero=True)
  _checks.check_finite(branch_scale, "branch_scale", where)
  _checks.check_choice(architecture, "architecture", ARCHITECTURES, where)
  _checks.check_choice(engine, "engine", ENGINES, where)
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
  sampled = [_pick_sampled(engine, scheme_list, w, batch, where) for w in width_t]
  groups = _group_schemes(scheme_list)
  scheme_engines = tuple(tuple("gaussian" if s[gi] else "dense" for s in sampled)
                         for i in range(len(scheme_list)) for gi, g in enumerate(groups) if i in g.members)
  bias = jnp.float32(bias_std)
  has_bias = float(bias_std) > 0
  branch = jnp.float32(branch_scale)

  # lower each width (Python, holding the GIL) while earlier widths compile: XLA's compiler releases it
  compiled, futures = {}, {}
  with concurrent.futures.ThreadPoolExecutor(max(1, min(len(width_t), os.cpu_count() or 1))) as pool:
    for i, (width, samp) in enumerate(zip(width_t, sampled, strict=True)):
      cache_key = (tuple(s.cache_key for s in scheme_list), tuple(a.fn for a in act_list), width, max_depth,
                   batch, samp, architecture, float(input_correlation), has_bias, padded, tuple(devices))
      if cache_key in _PROGRAMS:
        compiled[i] = _PROGRAMS[cache_key]
        continue
      run = _make_runner(scheme_list, act_list, width, max_depth, batch, samp, architecture,
                         float(input_correlation), has_bias)
      batched = jax.vmap(run, in_axes=(0, None, None))
      jitted = jax.jit(batched) if sharding is None else jax.jit(
          batched, in_shardings=(sharding, None, None), out_shardings=sharding)
      options = _compiler_options(width, max_depth, padded, len(scheme_list) * len(act_list))
      lowered = jitted.lower(seed_keys, bias, branch)
      futures[pool.submit(lowered.compile, compiler_options=options)] = (i, cache_key)
    if progress:
      progress("compile", width_t[0], len(compiled), len(width_t))
    for future in concurrent.futures.as_completed(futures):
      i, cache_key = futures[future]
      compiled[i] = _PROGRAMS[cache_key] = future.result()
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
  width_t = width_t[:len(per_width)]
  scheme_engines = tuple(e[:len(per_width)] for e in scheme_engines)

  # (S, A, K, L) per width -> (K, A, W, S, L), a single host transfer at the end
  metrics = {
      m: np.stack([np.asarray(jax.device_get(o[m]))[:seeds] for o in per_width], axis=0).transpose(3, 2, 0, 1, 4)
      for m in METRICS}
  return SweepResult(
      **{m: jnp.asarray(v) for m, v in metrics.items()},
      schemes=tuple(s.label for s in scheme_list),
      activations=tuple(a.name for a in act_list),
      widths=width_t, depths=depth_t, seeds=seeds, batch=batch, bias_std=float(bias_std),
      architecture=architecture, scheme_engines=scheme_engines, branch_scale=float(branch_scale),
      input_correlation=float(input_correlation),
      sigma_w2=tuple(tuple(s.sigma_w2(w) if s.sigma_w2(w) is not None
                           else float(np.mean(np.asarray(o["sigma_w2"])[:seeds, i]))
                           for w, o in zip(width_t, per_width, strict=True)) for i, s in enumerate(scheme_list)),
      activation_params=tuple(a.param for a in act_list),
      activation_fns=tuple(a.fn for a in act_list), interrupted=interrupted)


# XLA's backend optimisation level per program: level 0 compiles in about half the time and runs
# about 3x slower, level 1 saves a fifth of the compile time and runs as fast as the default
# (measured on a 2-core CPU). A program runs about 1e-8 s per unit of (layer x seed x N^2 x
# scheme x activation) work: level 0 only where the whole run takes about 10 ms.
_SMALL_WORK = 1e6


def _compiler_options(width: int, depth: int, seeds: int, configs: int) -> dict:
  level = 0 if depth * seeds * width * width * configs < _SMALL_WORK else 1
  return {"xla_backend_optimization_level": level}
