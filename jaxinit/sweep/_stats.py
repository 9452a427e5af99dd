"""Overflow-safe statistics of the traced layer: every magnitude travels as a log or a power of two.

The forward carry is held as ``2^e`` times a float32 array whose entries stay near unit
size, and statistics are assembled from row sums relative to the largest term, so a signal
of size 1e47 (whose sum of squares over a batch overflows float32) is still measured exactly.
"""

import math

import jax
import jax.numpy as jnp

EXP_LIMIT = 100.0  # |log2| of the forward carry's scale: keeps 2^e and 2^-e normal float32 numbers


def log_second_moment(x: jax.Array, axes=None) -> jax.Array:
  """``log(mean(x^2))`` over ``axes`` without overflow or underflow; -inf for an all-zero x.

  Computed as ``2 log s + log mean((x / s)^2)`` with ``s = max |x|``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxinit.sweep import _stats
    >>> float(_stats.log_second_moment(jnp.array([3e30, 4e30], jnp.float32)))  # x^2 overflows float32
    140.68...
  """
  scale = jnp.max(jnp.abs(x), axis=axes, keepdims=True)
  safe = jnp.where(scale > 0, scale, 1.0)
  inner = jnp.mean(jnp.square(x / safe), axis=axes)
  scale, safe = jnp.squeeze(scale, axis=axes), jnp.squeeze(safe, axis=axes)
  return jnp.where(scale > 0, 2.0 * jnp.log(safe) + jnp.log(inner), -jnp.inf)


def row_sums(y: jax.Array, unit_bias: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Per row of y (..., R, N): (sum y^2, sum y * unit_bias, sum y), each read by a matrix product."""
  squares = jnp.einsum("...rn,...rn->...r", y, y)
  linear = jnp.einsum("...rn,nj->...rj", y, jnp.stack([unit_bias, jnp.ones_like(unit_bias)], axis=-1))
  return squares, linear[..., 0], linear[..., 1]


def signal_stats(log_x, squares, dot_bias, total, pairs, bias_sq, bias_sum, width: int):
  """Statistics of ``h = X y + b`` from y's row sums, in float32 without overflow.

  With ``S_r = sum_n h_rn^2 = X^2 sum y^2 + 2 X sum y b + sum b^2`` per row, each term is
  taken relative to the largest, exp(M), so only logs carry the magnitude:
  ``log mean h^2 = M + log(sum_r S_r e^-M) - log(R N)``; the paired cosine is
  ``sum_n h_2i h_2i+1 / sqrt(S_2i S_2i+1)`` and the spread across units
  ``(S_r - (sum_n h_rn)^2 / N) / S_r``, averaged over rows.

  Args:
    log_x: (...,) log X.
    squares: (..., R) the rows' sums of y^2.
    dot_bias: (..., R) the rows' sums of y * b.
    total: (..., R) the rows' sums of y.
    pairs: (..., R/2) the sums y_{2i} * y_{2i+1}.
    bias_sq: (...,) sum b^2 (broadcast against ``log_x``).
    bias_sum: (...,) sum b.
    width: N.

  Returns:
    (log mean h^2, mean paired cosine, mean spread across units), each (...,).
  """
  n_rows = squares.shape[-1]
  bias_sq, bias_sum = jnp.broadcast_to(bias_sq, log_x.shape), jnp.broadcast_to(bias_sum, log_x.shape)
  big = jnp.maximum(2.0 * log_x + jnp.log(jnp.max(squares, axis=-1)), jnp.log(bias_sq))
  big = jnp.where(jnp.isfinite(big), big, 0.0)[..., None]  # all-zero rows: any scale will do
  log_x, bias_sq, bias_sum = log_x[..., None], bias_sq[..., None], bias_sum[..., None]
  signal_term = jnp.exp(2.0 * log_x - big)
  cross = dot_bias * jnp.exp(log_x - big)
  bias_term = bias_sq * jnp.exp(-big)
  row_sq = squares * signal_term + 2.0 * cross + bias_term  # sum_n h^2 per row, times exp(-M)
  # sum_n h per row, times exp(-M/2)
  row_mean = total * jnp.exp(log_x - 0.5 * big) + bias_sum * jnp.exp(-0.5 * big)
  pair_dot = pairs * signal_term + cross[..., 0:n_rows:2] + cross[..., 1:n_rows:2] + bias_term
  norm = jnp.sqrt(row_sq[..., 0:n_rows:2] * row_sq[..., 1:n_rows:2])
  # two all-zero rows are identical (cosine 1) and a zero row has no spread; a nan row stays nan
  cosine = jnp.where(norm > 0, pair_dot / jnp.where(norm > 0, norm, 1.0), _unless_nan(norm, 1.0))
  corr = jnp.mean(cosine, axis=-1)
  var = jnp.maximum(row_sq - jnp.square(row_mean) / width, 0.0)
  spread = jnp.mean(jnp.where(row_sq > 0, var / jnp.where(row_sq > 0, row_sq, 1.0), _unless_nan(row_sq, 0.0)),
                    axis=-1)
  log_q = big[..., 0] + jnp.log(jnp.sum(row_sq, axis=-1)) - math.log(n_rows * width)
  return log_q, corr, spread


def _unless_nan(x, value: float):
  return jnp.where(jnp.isnan(x), jnp.nan, value)


def next_exponent(exponent, squares, count: int, limit: float | None):
  """The power of two that brings a carry scaled by ``2^exponent`` back to unit mean square.

  ``squares`` is the scaled carry's sum of squares over ``count`` entries; the step is
  ``round(log2(sqrt(mean)))``, 0 where that mean is 0 or not finite, and the result is
  clipped to +-``limit`` when given (2^e and 2^-e must stay normal float32 numbers).
  """
  mean = squares / count
  step = jnp.round(0.5 * jnp.log2(jnp.where((mean > 0) & jnp.isfinite(mean), mean, 1.0)))
  out = exponent + step
  return out if limit is None else jnp.clip(out, -limit, limit)
