"""The engines: what a layer's weights are made of, drawn densely or sampled through X W's exact law.

Schemes are grouped by the unit draw they scale (`group_schemes`): every scheme of one
distribution family multiplies the same draw (common random numbers); an opaque
initializer is a group of its own. Per group and width, the "dense" engine draws the
(N, N) weights; the "gaussian" engine draws only a 2B x N factor and samples ``X W``
from its law (`sampled_product`), exact for i.i.d. Gaussian and for Haar-orthogonal W.
"""

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxinit.initializers import _structured, _variance_scaling
from jaxinit.sweep._config import Scheme, SweepConfigError, sampleable

# "auto" samples X W from width >= ratio x batch, where that is cheaper than drawing W (benchmarks/engines.py)
SAMPLED_MIN_RATIO = {"normal": 16, "orthogonal": 8}
GAUSSIAN_JITTER = 1e-5  # added to the unit diagonal: above float32 Gram rounding (~n 6e-8) for n <= 256
_CHOLESKY_FLOOR = 1e-30


class Group(NamedTuple):
  """Schemes that multiply one weight draw: a family's unit draw, or one opaque initializer."""
  members: tuple[int, ...]  # indices into the scheme list
  family: str | None  # the shared family, or None for an opaque initializer
  init: Callable | None  # the opaque initializer
  label: str  # the first member's label, for messages


def group_schemes(schemes: Sequence[Scheme]) -> list[Group]:
  """Groups by family, in order of first appearance; each opaque scheme alone."""
  groups: list[Group] = []
  by_family: dict[str, int] = {}
  for i, s in enumerate(schemes):
    if s.family is None:
      groups.append(Group((i,), None, s.init, s.label))
    elif s.family in by_family:
      j = by_family[s.family]
      groups[j] = groups[j]._replace(members=groups[j].members + (i,))
    else:
      by_family[s.family] = len(groups)
      groups.append(Group((i,), s.family, None, s.label))
  return groups


class Lanes(NamedTuple):
  """The distinct simulations of one width's program, one "lane" each.

  Schemes of one group that scale its draw by the same std and pair it with the same bias
  std would compute the same numbers (``glorot_normal`` and ``lecun_normal`` on the sweep's
  square layers): such schemes share one lane, simulated once.
  """
  of_group: tuple[tuple[int, ...], ...]  # per group, the scheme that each of its lanes runs
  of_scheme: tuple[int, ...]  # per scheme, its lane, counting lanes group after group

  @property
  def runs(self) -> tuple[int, ...]:
    """The scheme each lane runs, group after group."""
    return tuple(i for lanes in self.of_group for i in lanes)


def plan_lanes(schemes: Sequence[Scheme], width: int, bias_stds: Sequence[float]) -> Lanes:
  """The lanes of a width: within each group, one per distinct (std, bias std) of its schemes."""
  of_group, of_scheme, offset = [], [0] * len(schemes), 0
  for group in group_schemes(schemes):
    lane_of: dict[tuple, int] = {}
    runs = []
    for i in group.members:
      # an opaque initializer's std is known only from its draws: it never shares a lane
      same = (schemes[i].log_std(width), bias_stds[i]) if group.family is not None else ("opaque", i)
      if same not in lane_of:
        lane_of[same] = len(runs)
        runs.append(i)
      of_scheme[i] = offset + lane_of[same]
    of_group.append(tuple(runs))
    offset += len(runs)
  return Lanes(tuple(of_group), tuple(of_scheme))


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


def initializer_draw(init: Callable, shape: tuple[int, ...], label: str = "scheme"):
  """``key -> init(key, shape, float32)``, one key at a time under ``vmap``; checks the shape when traced."""
  def draw(key):
    out = init(key, shape, jnp.float32)
    if getattr(out, "shape", None) != shape:
      raise SweepConfigError("scheme", label, f"drew shape {getattr(out, 'shape', None)} for a kernel of "
                             f"shape {shape}; it must return the shape it is asked for")
    return jnp.asarray(out).astype(jnp.float32)
  return _one_at_a_time(draw)


def standard_draw(key, shape: tuple[int, ...], family: str) -> jax.Array:
  """A family's unit draw in float32: unit-variance entries, or a Haar matrix for ``"orthogonal"``.

  Args:
    key: a PRNG key.
    shape: the matrix shape.
    family: ``"normal"``, ``"truncated_normal"`` (at +-2 std, rescaled to unit variance),
      ``"uniform"`` (on +-sqrt 3) or ``"orthogonal"``.

  Returns:
    The draw; scaling it by a scheme's std gives that scheme's weights.
  """
  if family == "truncated_normal":
    return jax.random.truncated_normal(key, -2.0, 2.0, shape, jnp.float32) / _variance_scaling.TRUNCATED_STD
  if family == "normal":
    return jax.random.normal(key, shape, jnp.float32)
  if family == "orthogonal":
    return initializer_draw(_structured.orthogonal(), shape)(key)
  if family == "uniform":
    return jax.random.uniform(key, shape, jnp.float32, -1.0, 1.0) * math.sqrt(3.0)
  raise ValueError(f"standard_draw: family={family!r}; expected normal, truncated_normal, uniform or "
                   "orthogonal")


def group_draws(groups: Sequence[Group], sampled: Sequence[bool], key, width: int, batch: int) -> list:
  """Per group, a layer's random numbers: its (N, N) weights, or the 2B x N factor of a sampled product."""
  draws = []
  for group, is_sampled in zip(groups, sampled, strict=True):
    if not is_sampled:
      shape = (width, width)
      draws.append(standard_draw(key, shape, group.family) if group.family is not None
                   else initializer_draw(group.init, shape, group.label)(key))
    elif group.family == "orthogonal":  # a Haar frame: orthonormal columns of a tall Haar draw, as rows
      draws.append(initializer_draw(_structured.orthogonal(), (width, 2 * batch))(key).T)
    else:
      draws.append(jax.random.normal(key, (2 * batch, width), jnp.float32))
  return draws


def cholesky(matrix: jax.Array) -> jax.Array:
  """Lower Cholesky factor of a batch of SPD matrices, in plain jax ops (a loop over columns).

  ``L L^T = A`` with L lower triangular and a positive diagonal; a pivot that rounding makes
  non-positive is floored at 1e-15 (its square at 1e-30). jaxlib's CPU Cholesky of a batch of
  matrices waits on XLA's thread pool from inside it and can hang a long scan (see
  `_one_at_a_time`); this loop has no custom call. Cost: n matrix-vector products per factor.

  Args:
    matrix: (..., n, n) symmetric positive definite.

  Returns:
    (..., n, n) the lower factor.
  """
  n = matrix.shape[-1]
  rows = jnp.arange(n)

  def column(j, low):
    row_j = low[..., j, :]  # entries k < j are set, the rest are 0
    pivot = jnp.sqrt(jnp.maximum(matrix[..., j, j] - jnp.sum(row_j * row_j, axis=-1), _CHOLESKY_FLOOR))
    col = (matrix[..., :, j] - jnp.einsum("...ik,...k->...i", low, row_j)) / pivot[..., None]
    col = jnp.where(rows > j, col, jnp.where(rows == j, pivot[..., None], 0.0))
    return low.at[..., :, j].set(col)

  return jax.lax.fori_loop(0, n, column, jnp.zeros_like(matrix))


def sampled_product(rows: jax.Array, factor: jax.Array) -> jax.Array:
  """An exact sample of ``rows @ W`` from a 2B x N ``factor``, without drawing W.

  For W with i.i.d. N(0, 1) entries, the columns of ``X W`` (X = ``rows``) are i.i.d.
  N(0, G), G = X X^T: they are L z for z (2B x N) i.i.d. normal and L L^T = G. For W Haar
  orthogonal (2B <= N), X = L U with U = L^-1 X orthonormal rows, and U W is a Haar frame F:
  ``X W`` is L F. Both cost O(B^2 N) instead of O(B N^2). L is taken as D chol(C) with D the
  row norms and C the correlation matrix, so rows of very different size keep their own
  precision and zero rows (a dead ReLU layer) stay exactly zero. The jitter on C's unit
  diagonal sets a floor of about 1e-5 on 1 - c.

  Args:
    rows: (..., 2B, N) the rows X.
    factor: (2B, N) i.i.d. N(0, 1) (Gaussian W) or a Haar frame (orthogonal W), shared by
      every leading index (common random numbers).

  Returns:
    (..., 2B, N) a sample of ``X W``.

  References:
    Schoenholz et al., Deep Information Propagation, 2017 (the Gaussian law of X W).
  """
  norms = jnp.sqrt(jnp.sum(jnp.square(rows), axis=-1))  # (..., 2B)
  alive = norms > 0
  unit = rows / jnp.where(alive, norms, 1.0)[..., None]
  corr = jnp.einsum("...in,...jn->...ij", unit, unit)
  eye = jnp.eye(corr.shape[-1], dtype=corr.dtype)
  corr = jnp.where(alive[..., :, None] & alive[..., None, :], corr, eye)  # a zero row: independent filler
  low = cholesky(corr + GAUSSIAN_JITTER * eye) * norms[..., :, None]
  return jnp.einsum("...ij,jn->...in", low, factor)


def pick_sampled(engine: str, schemes: Sequence[Scheme], width: int, batch: int,
                 platform: str = "cpu") -> tuple[bool, ...]:
  """Per group of `group_schemes`, whether the layer samples X W from its law instead of drawing W.

  ``"gaussian"`` samples every group (the configuration checked that it can), ``"auto"`` those
  where sampling is cheaper, ``"dense"`` none. The thresholds of ``"auto"`` were measured on a
  CPU; on an accelerator the sampler's Cholesky (a loop of 2B steps) loses to drawing W at every
  width measured (0.2x at width 2048 = 16 x batch 128 on an H200, ``benchmarks/gpu_check.sh``),
  so there ``"auto"`` draws W.
  """
  groups = group_schemes(schemes)
  if engine == "gaussian":
    return (True,) * len(groups)
  if engine == "auto" and platform == "cpu":
    return tuple(sampleable(g.family, width, batch) and width >= SAMPLED_MIN_RATIO[g.family] * batch
                 for g in groups)
  return (False,) * len(groups)
