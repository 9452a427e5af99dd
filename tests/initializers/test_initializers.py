"""Every public initializer: contract, statistics, jax parity, transformations, Flax and errors."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit

JI = jax.nn.initializers
KEY = jax.random.key(0)
TRUNC_VAR = 0.87962566103423978 ** 2

DENSE = (256, 192)
CONV1 = (3, 48, 64)
CONV2 = (3, 3, 32, 48)
CONV3 = (3, 3, 3, 16, 24)
SHAPES = {"dense": DENSE, "conv1d": CONV1, "conv2d": CONV2, "conv3d": CONV3}

LOW = [jnp.bfloat16, jnp.float16]
FP8 = [jnp.float8_e4m3fn, jnp.float8_e5m2]
# extra relative error on a variance from rounding each sample to the dtype
ROUNDING = {jnp.float32: 0.0, jnp.bfloat16: 0.01, jnp.float16: 0.002,
            jnp.float8_e4m3fn: 0.04, jnp.float8_e5m2: 0.08, jnp.complex64: 0.0}


def fan_var(scale, mode):
  def var(shape):
    f = jaxinit.compute_fans(shape)
    n = {"fan_in": f.fan_in, "fan_out": f.fan_out, "fan_avg": (f.fan_in + f.fan_out) / 2,
         "fan_geo_avg": math.sqrt(f.fan_in * f.fan_out)}[mode]
    return scale / n
  return var


class Case:
  def __init__(self, name, make, jax_make=None, var=None, shapes=("dense", "conv1d", "conv2d", "conv3d"),
               dtypes=(jnp.float32, *LOW, *FP8), complex_ok=False, mean=0.0):
    self.name, self.make, self.jax_make, self.var = name, make, jax_make, var
    self.shapes, self.dtypes, self.complex_ok, self.mean = shapes, dtypes, complex_ok, mean


CASES = [
    Case("glorot_normal", jaxinit.glorot_normal, JI.glorot_normal, fan_var(1.0, "fan_avg"), complex_ok=True),
    Case("glorot_uniform", jaxinit.glorot_uniform, JI.glorot_uniform, fan_var(1.0, "fan_avg"),
         complex_ok=True),
    Case("he_normal", jaxinit.he_normal, JI.he_normal, fan_var(2.0, "fan_in"), complex_ok=True),
    Case("he_uniform", jaxinit.he_uniform, JI.he_uniform, fan_var(2.0, "fan_in"), complex_ok=True),
    Case("lecun_normal", jaxinit.lecun_normal, JI.lecun_normal, fan_var(1.0, "fan_in"), complex_ok=True),
    Case("lecun_uniform", jaxinit.lecun_uniform, JI.lecun_uniform, fan_var(1.0, "fan_in"), complex_ok=True),
    *[Case(f"variance_scaling-{m}-{d}", (lambda m=m, d=d: jaxinit.variance_scaling(0.7, m, d)),
           (lambda m=m, d=d: JI.variance_scaling(0.7, m, d)), fan_var(0.7, m), complex_ok=True,
           shapes=("conv2d",))
      for m in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
      for d in ("truncated_normal", "normal", "uniform")],
    Case("normal", lambda: jaxinit.normal(0.05), lambda: JI.normal(0.05), lambda s: 0.05 ** 2,
         complex_ok=True),
    Case("truncated_normal", lambda: jaxinit.truncated_normal(0.05), lambda: JI.truncated_normal(0.05),
         lambda s: 0.05 ** 2 * TRUNC_VAR),
    Case("uniform", lambda: jaxinit.uniform(0.1), lambda: JI.uniform(0.1), lambda s: 0.1 ** 2 / 12,
         mean=0.05),
    Case("constant", lambda: jaxinit.constant(0.25), lambda: JI.constant(0.25), lambda s: 0.0, mean=0.25,
         complex_ok=True),
    Case("zeros", lambda: jaxinit.zeros, lambda: JI.zeros, lambda s: 0.0, complex_ok=True),
    Case("ones", lambda: jaxinit.ones, lambda: JI.ones, lambda s: 0.0, mean=1.0, complex_ok=True),
    Case("orthogonal", jaxinit.orthogonal, JI.orthogonal,
         lambda s: 1.0 / max(math.prod(s[:-1]), s[-1]), complex_ok=True),
    Case("delta_orthogonal", jaxinit.delta_orthogonal, JI.delta_orthogonal,
         lambda s: 1.0 / (math.prod(s[:-2]) * s[-1]), shapes=("conv1d", "conv2d", "conv3d")),
    Case("identity", jaxinit.identity, None, lambda s: min(s) / math.prod(s), shapes=("dense",)),
    Case("dirac", jaxinit.dirac, None, lambda s: min(s[-2:]) / math.prod(s),
         shapes=("conv1d", "conv2d", "conv3d")),
    Case("sparse", lambda: jaxinit.sparse(0.5, 0.1), None, lambda s: 0.5 * 0.01),
    Case("torch_default_kernel", jaxinit.torch_default_kernel, None, fan_var(1.0 / 3.0, "fan_in")),
    Case("torch_default_bias", lambda: jaxinit.torch_default_bias(fan_in=100), None, lambda s: 1.0 / 300),
    Case("for_activation-tanh", lambda: jaxinit.for_activation("tanh", "normal"), None,
         fan_var(jaxinit.gain("tanh") ** 2, "fan_in"), complex_ok=True),
]
IDS = [c.name for c in CASES]
# the fast set (pytest -m "not slow") checks these; the whole grid of schemes runs in the full suite
FAST = ("he_normal", "orthogonal", "torch_default_kernel", "sparse")


def grid(names):
  """``names`` as parameters, all but the representative few marked slow."""
  return [pytest.param(n, marks=() if n in FAST else pytest.mark.slow) for n in names]
CASE = {c.name: c for c in CASES}

# one jitted wrapper per (case, shape, dtype): shared by the tests that jit
_JITTED = {}


def jitted(case, shape, dtype):
  k = (case.name, shape, jnp.dtype(dtype).name)
  if k not in _JITTED:
    init = case.make()

    def draw(key):
      return init(key, shape, dtype)

    draw.__name__ = "draw_" + "_".join(map(str, k))  # chex counts traces per name and source
    _JITTED[k] = jax.jit(chex.assert_max_traces(draw, n=1))
  return _JITTED[k]


def to_np(x):
  x = np.asarray(x.astype(jnp.complex64 if jnp.iscomplexobj(x) else jnp.float32))
  return x


def check_statistics(case, x, shape, dtype):
  x = to_np(x)
  chex.assert_tree_all_finite(x)
  n = x.size
  var_expected = case.var(shape)
  mean = x.mean()
  second = np.mean(np.abs(x - case.mean) ** 2)
  if var_expected == 0.0:
    np.testing.assert_allclose(x, case.mean, rtol=0.02)
    return
  # the sample variance of n draws with kurtosis <= 3 has relative std sqrt(2 / n): allow 6 of those
  tol = 6 * math.sqrt(2.0 / n) + ROUNDING[dtype]
  assert abs(second / var_expected - 1) < tol, (case.name, shape, second, var_expected, tol)
  if case.name in ("identity", "dirac"):  # deterministic: the second moment above is exact
    return
  assert abs(mean - case.mean) < 6 * math.sqrt(var_expected / n) + 1e-3 * math.sqrt(var_expected) + abs(
      case.mean) * ROUNDING[dtype], (case.name, mean)


@pytest.mark.parametrize("name", grid(IDS))
def test_shape_dtype_finite_and_std_over_dtypes(name):
  case = CASE[name]
  shape = SHAPES[case.shapes[0]]
  dtypes = list(case.dtypes) + ([jnp.complex64] if case.complex_ok else [])
  for dtype in dtypes:
    x = case.make()(KEY, shape, dtype)
    chex.assert_shape(x, shape)
    chex.assert_type(x, dtype)
    check_statistics(case, x, shape, dtype)


@pytest.mark.parametrize("name", grid(IDS))
def test_std_over_shapes_under_jit(name):
  case = CASE[name]
  for shape_name in case.shapes:
    shape = SHAPES[shape_name]
    f = jitted(case, shape, jnp.float32)
    x = f(KEY)
    chex.assert_shape(x, shape)
    check_statistics(case, x, shape, jnp.float32)
    if shape_name == case.shapes[0]:
      chex.assert_trees_all_close(x, case.make()(KEY, shape, jnp.float32), atol=1e-6, rtol=1e-6)
    f(jax.random.key(1))  # a second call with a new key must not retrace (assert_max_traces)


@pytest.mark.parametrize("name", grid(IDS))
def test_eval_shape_vmap_and_keys(name):
  case = CASE[name]
  shape = SHAPES[case.shapes[0]]
  init = case.make()
  out = jax.eval_shape(lambda k: init(k, shape, jnp.bfloat16), KEY)
  assert out.shape == shape and out.dtype == jnp.bfloat16
  keys = jax.random.split(KEY, 3)
  batch = jax.vmap(lambda k: init(k, shape))(keys)
  chex.assert_shape(batch, (3, *shape))
  for i in range(3):
    chex.assert_trees_all_close(batch[i], init(keys[i], shape), atol=1e-6)
  typed = init(jax.random.key(7), shape)
  legacy = init(jax.random.PRNGKey(7), shape)
  chex.assert_trees_all_equal(typed, legacy)
  assert typed.dtype == jnp.float32  # the default dtype


@pytest.mark.parametrize("name", grid([c.name for c in CASES if c.jax_make is not None and c.name != "orthogonal"])
                         + [pytest.param("orthogonal", marks=pytest.mark.slow)])
def test_bit_identical_to_jax(name):
  case = CASE[name]
  for shape_name in case.shapes:
    shape = SHAPES[shape_name]
    dtypes = [jnp.float32]
    if shape_name == case.shapes[0]:
      dtypes += [*LOW] + ([jnp.complex64] if case.complex_ok else [])
    if name in ("orthogonal", "delta_orthogonal"):
      dtypes = [jnp.float32, jnp.complex64] if case.complex_ok else [jnp.float32]
    for dtype in dtypes:
      ours = case.make()(KEY, shape, dtype)
      theirs = case.jax_make()(KEY, shape, dtype)
      assert ours.dtype == theirs.dtype
      np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs),
                                    err_msg=f"{name} {shape} {jnp.dtype(dtype).name}")


def test_factory_dtype_is_the_default():
  init = jaxinit.he_normal(dtype=jnp.bfloat16)
  assert init(KEY, DENSE).dtype == jnp.bfloat16
  assert init(KEY, DENSE, jnp.float16).dtype == jnp.float16


def test_aliases_are_the_same_factories():
  assert jaxinit.xavier_normal is jaxinit.glorot_normal
  assert jaxinit.xavier_uniform is jaxinit.glorot_uniform
  assert jaxinit.kaiming_normal is jaxinit.he_normal
  assert jaxinit.kaiming_uniform is jaxinit.he_uniform
  assert isinstance(jaxinit.he_normal(), jaxinit.Initializer)
  assert jaxinit.Initializer is JI.Initializer


def test_jax_fails_in_float8_and_jaxinit_does_not():
  shape = (512, 512)
  theirs = JI.lecun_normal()(KEY, shape, jnp.float8_e4m3fn)
  assert not np.isfinite(to_np(theirs)).all()  # jax's documented failure, still present
  for dtype in FP8:
    x = to_np(jaxinit.lecun_normal()(KEY, shape, dtype))
    assert np.isfinite(x).all()
    assert abs(x.std() * math.sqrt(512) - 1) < 0.04


@pytest.mark.slow
def test_orthogonal_low_precision_and_isometry():
  for dtype in (jnp.bfloat16, jnp.float16, jnp.float8_e4m3fn):
    with pytest.raises(NotImplementedError):
      JI.orthogonal()(KEY, (16, 16), dtype)
    w = jaxinit.orthogonal()(KEY, (16, 16), dtype)
    assert w.dtype == dtype
    ref = jaxinit.orthogonal()(KEY, (16, 16), jnp.float32)
    chex.assert_trees_all_close(w.astype(jnp.float32), ref.astype(dtype).astype(jnp.float32))
  tall = jaxinit.orthogonal(scale=2.0)(KEY, (32, 8))
  chex.assert_trees_all_close(tall.T @ tall, 4.0 * jnp.eye(8), atol=1e-5)
  wide = jaxinit.orthogonal()(KEY, (8, 32))
  chex.assert_trees_all_close(wide @ wide.T, jnp.eye(8), atol=1e-5)
  conv = jaxinit.orthogonal()(KEY, (3, 3, 4, 64))  # 36 rows x 64 columns: orthonormal rows
  m = conv.reshape(36, 64)
  chex.assert_trees_all_close(m @ m.T, jnp.eye(36), atol=1e-5)


@pytest.mark.slow
def test_delta_orthogonal_and_dirac_layout():
  w = jaxinit.delta_orthogonal()(KEY, (4, 3, 8, 8))
  centre = w[1, 1]
  chex.assert_trees_all_close(centre.T @ centre, jnp.eye(8), atol=1e-5)
  assert float(jnp.abs(w).sum()) == pytest.approx(float(jnp.abs(centre).sum()))
  for shape in [(3, 6, 6), (5, 3, 6, 6), (2, 2, 2, 6, 6)]:
    d = jaxinit.dirac()(KEY, shape)
    nd = len(shape) - 2
    x = jax.random.normal(KEY, (1, *([7] * nd), 6))
    dn = jax.lax.conv_dimension_numbers(x.shape, d.shape, ("N" + "HWD"[:nd] + "C",
                                                           "HWD"[:nd] + "IO", "N" + "HWD"[:nd] + "C"))
    y = jax.lax.conv_general_dilated(x, d, (1,) * nd, "SAME", dimension_numbers=dn)
    chex.assert_trees_all_close(y, x, atol=1e-6)
  g = jaxinit.dirac(groups=2)(KEY, (3, 2, 4))  # (window, in per group, out)
  np.testing.assert_array_equal(np.asarray(g[1]), [[1, 0, 1, 0], [0, 1, 0, 1]])
  assert float(jnp.abs(g[0]).sum()) == 0.0 and float(jnp.abs(g[2]).sum()) == 0.0


@pytest.mark.slow
def test_identity_non_square_and_sparse_counts():
  chex.assert_trees_all_equal(jaxinit.identity()(KEY, (3, 5)), jnp.eye(3, 5))
  chex.assert_trees_all_equal(jaxinit.identity(0.5)(KEY, (5, 3)), 0.5 * jnp.eye(5, 3))
  w = jaxinit.sparse(0.3)(KEY, (40, 25))
  zeros_per_unit = np.asarray((w == 0).sum(axis=0))
  np.testing.assert_array_equal(zeros_per_unit, math.ceil(0.3 * 40))
  conv = jaxinit.sparse(0.5)(KEY, (3, 4, 10))  # fan_in = 12 per output unit
  np.testing.assert_array_equal(np.asarray((conv.reshape(12, 10) == 0).sum(axis=0)), 6)


def test_torch_default_bounds():
  w = jaxinit.torch_default_kernel()(KEY, (3, 3, 16, 8))  # fan_in 144: bound 1/12
  assert float(jnp.abs(w).max()) <= 1 / 12 and float(jnp.abs(w).max()) > 0.99 / 12
  b = jaxinit.torch_default_bias(144)(KEY, (8,))
  assert float(jnp.abs(b).max()) <= 1 / 12


def test_out_sharding_where_jax_has_none():
  # one device: a trivial mesh still exercises the reshard path (4 devices: test_sharding.py)
  mesh = jax.make_mesh((1,), ("x",))
  spec = jax.sharding.PartitionSpec("x")
  cases = [(jaxinit.orthogonal(), (8, 8)), (jaxinit.delta_orthogonal(), (3, 8, 8)),
           (jaxinit.identity(), (8, 8)), (jaxinit.he_normal(), (8, 8))]
  with jax.set_mesh(mesh):
    for init, shape in cases:
      w = init(KEY, shape, out_sharding=spec)
      assert w.sharding.is_equivalent_to(jax.sharding.NamedSharding(mesh, spec), len(shape))


def test_compute_fans():
  assert jaxinit.compute_fans((64, 32)) == (64, 32, 1)
  assert jaxinit.compute_fans((3, 3, 16, 32)) == jaxinit.Fans(144, 288, 9)
  assert jaxinit.compute_fans((5, 3, 16, 32), batch_axis=0) == (48, 96, 3)
  assert jaxinit.compute_fans((2, 3, 4, 5), in_axis=(0, 1), out_axis=(2, 3)) == (6, 20, 1)
  fans = jaxinit.compute_fans((7, 4, 5), in_axis=-2, out_axis=-1)
  assert all(isinstance(v, int) for v in fans)
  assert jaxinit.compute_fans((10,), in_axis=0, out_axis=0 if False else ()) == (10, 1, 1)


def test_compute_fans_properties():
  from hypothesis import given, settings
  from hypothesis import strategies as st

  @settings(max_examples=200, deadline=None)
  @given(st.lists(st.integers(1, 7), min_size=2, max_size=5))
  def check(shape):
    fans = jaxinit.compute_fans(tuple(shape))
    assert fans.receptive_field == math.prod(shape[:-2])
    assert fans.fan_in * shape[-1] == fans.fan_out * shape[-2] == math.prod(shape)
    swapped = jaxinit.compute_fans(tuple(shape), in_axis=-1, out_axis=-2)
    assert (swapped.fan_in, swapped.fan_out) == (fans.fan_out, fans.fan_in)

  check()


@pytest.mark.slow
def test_multi_axis_kernels_match_jax_and_their_fans():
  # e.g. an attention projection (embed, heads, head_dim) or a (heads, head_dim, embed) output kernel
  layouts = [((64, 4, 16), dict(in_axis=0, out_axis=(1, 2))),
             ((4, 16, 64), dict(in_axis=(0, 1), out_axis=2)),
             ((3, 8, 32, 16), dict(in_axis=-2, out_axis=-1, batch_axis=0))]
  for shape, axes in layouts:
    for name in ("he_normal", "glorot_uniform", "lecun_normal"):
      ours = getattr(jaxinit, name)(**axes)(KEY, shape)
      theirs = getattr(JI, name)(**axes)(KEY, shape)
      np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    w = jaxinit.variance_scaling(1.0, "fan_in", "normal", **axes)(KEY, shape)
    fans = jaxinit.compute_fans(shape, **axes)
    assert abs(float(jnp.var(w)) * fans.fan_in - 1) < 6 * math.sqrt(2 / w.size)
