"""The engine pieces on their own: the Cholesky, the sampled product's law, the unit draws."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit
from jaxinit.sweep import SweepConfig, _engines, standard_draw


def _spd(key, batch: int, n: int) -> np.ndarray:
  """A batch of well-conditioned SPD matrices (float64 numpy): a Gram matrix plus the identity."""
  a = np.asarray(jax.random.normal(key, (batch, n, 2 * n)), np.float64)
  return a @ np.swapaxes(a, -1, -2) / (2 * n) + np.eye(n)


_cholesky = jax.jit(_engines.cholesky)


def test_cholesky_matches_lapack_in_float64():
  a = _spd(jax.random.key(0), 5, 12)
  low = np.asarray(_cholesky(jnp.asarray(a, jnp.float32)), np.float64)
  reference = np.linalg.cholesky(a)
  assert np.all(np.triu(low, 1) == 0) and np.all(np.diagonal(low, axis1=-2, axis2=-1) > 0)
  # float32 on a condition number below ~10: entries agree to a few float32 ulps of the largest
  chex.assert_trees_all_close(low, reference, atol=1e-5, rtol=1e-5)
  chex.assert_trees_all_close(low @ np.swapaxes(low, -1, -2), a, atol=2e-5, rtol=2e-5)


def test_cholesky_of_a_singular_matrix_stays_finite():
  # a rank-1 correlation (two identical rows): the second pivot is floored, not nan
  ones = jnp.ones((2, 2), jnp.float32)
  low = np.asarray(_cholesky(ones))
  assert np.all(np.isfinite(low)) and low[0, 0] == 1.0 and low[1, 0] == 1.0 and 0 < low[1, 1] < 1e-7


_DRAWS = 24


@jax.jit
def _gaussian_products(rows, keys):
  """rows @ W for i.i.d. N(0, 1) W: sampled through the law, and drawn densely, over many keys."""
  n = rows.shape[-1]

  def one(key):
    factor = jax.random.normal(key, (rows.shape[0], n), jnp.float32)
    dense = rows @ jax.random.normal(jax.random.fold_in(key, 1), (n, n), jnp.float32)
    return _engines.sampled_product(rows, factor), dense
  return jax.vmap(one)(keys)


def _second_moments(products) -> np.ndarray:
  """(draws, R, N) -> (R, R): the mean over draws and columns of h h^T."""
  p = np.asarray(products, np.float64)
  return np.einsum("din,djn->ij", p, p) / (p.shape[0] * p.shape[2])


@pytest.mark.slow
def test_sampled_gaussian_product_has_the_dense_products_law():
  n = 1024  # the columns of X W are i.i.d.: each draw gives n samples of the law
  g = jax.random.normal(jax.random.key(1), (4, n), jnp.float32)
  # rows of very different size and correlation, as the carry holds them (signal over tangent)
  rows = jnp.stack([g[0], 0.9 * g[0] + 0.44 * g[1], 30.0 * g[2], 0.01 * g[3]])
  sampled, dense = _gaussian_products(rows, jax.random.split(jax.random.key(2), _DRAWS))
  gram = np.asarray(rows, np.float64) @ np.asarray(rows, np.float64).T  # the exact law: columns ~ N(0, X X^T)
  samples = _DRAWS * n
  # each entry of a sample second moment of n_s Gaussian columns has std sqrt((G_ii G_jj + G_ij^2) / n_s)
  se = np.sqrt((np.outer(np.diag(gram), np.diag(gram)) + gram ** 2) / samples)
  for name, products in (("sampled", sampled), ("dense", dense)):
    moments = _second_moments(products)
    z = np.abs(moments - gram) / se
    assert z.max() < 5, (name, z.max())  # 5 standard errors: 16 entries, false alarm ~1e-5
  # the two estimates of the same law agree with each other
  diff = np.abs(_second_moments(sampled) - _second_moments(dense)) / (math.sqrt(2) * se)
  assert diff.max() < 5, diff.max()


@pytest.mark.slow
def test_sampled_orthogonal_product_keeps_inner_products_exactly():
  # X W for orthogonal W preserves X X^T; a Haar frame F (orthonormal rows) gives X W = L F with L L^T = X X^T
  n, rows_n = 32, 6
  sizes = jnp.arange(1, rows_n + 1, dtype=jnp.float32)[:, None]
  rows = jax.random.normal(jax.random.key(3), (rows_n, n), jnp.float32) * sizes
  frame = _engines.initializer_draw(jaxinit.orthogonal(), (n, rows_n))(jax.random.key(4)).T
  product = np.asarray(jax.jit(_engines.sampled_product)(rows, frame), np.float64)
  gram = np.asarray(rows, np.float64) @ np.asarray(rows, np.float64).T
  # the jitter 1e-5 on the unit diagonal of the correlation matrix: relative error about 1e-5
  chex.assert_trees_all_close(product @ product.T, gram, rtol=3e-5, atol=3e-5 * np.abs(gram).max())


def test_sampled_product_keeps_zero_rows_zero():
  rows = jnp.zeros((4, 8), jnp.float32).at[0].set(1.0).at[1].set(2.0)
  factor = jax.random.normal(jax.random.key(5), (4, 8), jnp.float32)
  out = np.asarray(jax.jit(_engines.sampled_product)(rows, factor))
  assert np.all(out[2:] == 0) and np.all(np.isfinite(out))


@pytest.mark.parametrize("family", ["normal", "truncated_normal", "uniform", "orthogonal"])
def test_standard_draws_have_unit_variance_entries(family):
  n = 64
  w = np.asarray(jax.jit(lambda k: standard_draw(k, (n, n), family))(jax.random.key(6)), np.float64)
  if family == "orthogonal":  # the unit draw is a Haar matrix itself: W W^T = I
    chex.assert_trees_all_close(w @ w.T, np.eye(n), atol=1e-5)
    return
  # 4096 entries of unit variance and finite fourth moment: the sample variance is 1 +- ~0.03
  assert abs(w.var() - 1) < 5 * math.sqrt(2.0 / w.size) * 1.2 and abs(w.mean()) < 5 / math.sqrt(w.size)


def test_groups_share_one_draw_per_family_in_order():
  config = SweepConfig(schemes={"a": jaxinit.he_normal(), "b": jaxinit.zeros, "c": jaxinit.lecun_normal(),
                                "d": jaxinit.orthogonal(), "e": jaxinit.glorot_uniform()},
                       activations=("relu",), depths=(1,), widths=(8,), batch=2, seeds=1)
  groups = _engines.group_schemes(config.schemes)
  assert [(g.members, g.family) for g in groups] == [((0, 2), "truncated_normal"), ((1,), None),
                                                     ((3,), "orthogonal"), ((4,), "uniform")]


def test_auto_samples_only_on_a_cpu():
  from jaxinit.sweep._config import Scheme

  schemes = (Scheme("vs", jaxinit.variance_scaling(2.0, "fan_in", "normal")),)
  assert _engines.pick_sampled("auto", schemes, 512, 8, "cpu") == (True,)  # width >= 16 x batch
  assert _engines.pick_sampled("auto", schemes, 512, 8, "gpu") == (False,)  # measured slower there
  assert _engines.pick_sampled("gaussian", schemes, 512, 8, "gpu") == (True,)  # asked for: honoured
