"""Nothing silently wrong: every initializer x every float dtype is finite; out-of-range values saturate.

The rule under test (see jaxinit/initializers/_skeleton.py): a value beyond the requested
dtype's largest finite value becomes +-finfo(dtype).max, zeros stay zeros, and a scalar
beyond every float jax can compute in raises ValueError naming it and the dtype.
References are computed here from jax.random's raw draws and numpy, not through jaxinit.
"""

import contextlib
import re

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import jaxinit

KEY = jax.random.key(0)
# every float jnp knows except float8_e8m0fnu, which has no zero and no sign (refused: see test below)
# float6_e2m3fn and float6_e3m2fn are left out: XLA on CPU cannot compute in them at all (jnp.zeros fails)
SMALL_FLOATS = ["float4_e2m1fn", "float8_e3m4", "float8_e4m3",
                "float8_e4m3b11fnuz", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"]
FLOATS = ["float64", "float32", "bfloat16", "float16", *SMALL_FLOATS]

# (name, factory, shape): huge scales, so that every dtype narrower than float32 overflows
HUGE = [
    ("variance_scaling", lambda: jaxinit.variance_scaling(1e12, "fan_in", "normal"), (16, 8)),
    ("variance_scaling-uniform", lambda: jaxinit.variance_scaling(1e12, "fan_in", "uniform"), (16, 8)),
    ("variance_scaling-truncated", lambda: jaxinit.variance_scaling(1e12, "fan_avg", "truncated_normal"),
     (16, 8)),
    ("normal", lambda: jaxinit.normal(1e5), (16, 8)),
    ("truncated_normal", lambda: jaxinit.truncated_normal(1e5), (16, 8)),
    ("uniform", lambda: jaxinit.uniform(1e6), (16, 8)),
    ("constant", lambda: jaxinit.constant(1e5), (16, 8)),
    ("orthogonal", lambda: jaxinit.orthogonal(1e6), (8, 8)),
    ("delta_orthogonal", lambda: jaxinit.delta_orthogonal(1e6), (3, 8, 8)),
    ("identity", lambda: jaxinit.identity(1e5), (8, 8)),
    ("sparse", lambda: jaxinit.sparse(0.5, 1e5), (16, 8)),
    ("he_normal", lambda: jaxinit.he_normal(), (16, 8)),
    ("torch_default_bias", lambda: jaxinit.torch_default_bias(4), (16, 8)),
    ("dirac", lambda: jaxinit.dirac(), (3, 8, 8)),
    ("zeros", lambda: jaxinit.zeros, (16, 8)),
    ("ones", lambda: jaxinit.ones, (16, 8)),
]


def x64_if(dtype):
  """float64 needs jax_enable_x64 (without it jax silently gives float32): turn it on locally."""
  return jax.enable_x64(True) if dtype == "float64" else contextlib.nullcontext()


def as_f64(x) -> np.ndarray:
  return np.asarray(x.astype(jnp.float32)).astype(np.float64) if x.dtype != jnp.float64 else np.asarray(x)


@pytest.mark.parametrize("dtype", [pytest.param(d, marks=() if d in ("float32", "float8_e4m3fn") else pytest.mark.slow)
                                   for d in FLOATS])
def test_every_initializer_is_finite_in_every_float_dtype(dtype):
  fmax = float(ml_dtypes.finfo(dtype).max)
  with x64_if(dtype):
    for name, make, shape in HUGE:
      x = make()(KEY, shape, dtype)
      assert x.dtype == jnp.dtype(dtype) and x.shape == shape, name
      values = as_f64(x)
      assert np.isfinite(values).all(), (name, dtype)
      assert np.abs(values).max() <= fmax, (name, dtype)


# (factory, reference in float64 from the raw draw, dtype)
@pytest.mark.parametrize("dtype", ["float16", "float8_e4m3fn", "float8_e5m2", "float4_e2m1fn"])
def test_saturation_matches_an_independent_reference(dtype):
  fmax = float(ml_dtypes.finfo(dtype).max)
  shape = (64, 64)
  raw = np.asarray(jax.random.normal(KEY, shape, jnp.float32)).astype(np.float64)
  scale = 4 * fmax  # most samples overflow, the small ones do not
  ours = as_f64(jaxinit.normal(scale)(KEY, shape, dtype))
  ref = np.clip(raw * scale, -fmax, fmax).astype(dtype).astype(np.float64)
  np.testing.assert_allclose(ours, ref, rtol=float(ml_dtypes.finfo(dtype).eps))
  assert (np.abs(ours) == fmax).mean() > 0.5 and (np.abs(ours) < fmax).any()


def test_reported_cases_saturate_instead_of_nan():
  # identity(1e5) in float16: 0 * inf was nan off the diagonal; the diagonal saturates
  w = np.asarray(jaxinit.identity(1e5)(KEY, (4, 4), jnp.float16)).astype(np.float64)
  np.testing.assert_array_equal(w, 65504.0 * np.eye(4))
  # normal(1000.) in float8_e4m3fn: was 2,674 nan of 4,096 (jax: all nan)
  x = as_f64(jaxinit.normal(1000.0)(KEY, (4096,), jnp.float8_e4m3fn))
  assert np.isfinite(x).all() and np.abs(x).max() == 448.0
  assert not np.isfinite(as_f64(jax.nn.initializers.normal(1000.0)(KEY, (4096,), jnp.float8_e4m3fn))).all()
  # constant(1000.) in float8_e4m3fn: 448, the largest finite value; in float16 1e5 gives 65504
  np.testing.assert_array_equal(as_f64(jaxinit.constant(1000.0)(KEY, (3,), jnp.float8_e4m3fn)), 448.0)
  np.testing.assert_array_equal(as_f64(jaxinit.constant(-1e5)(KEY, (3,), jnp.float16)), -65504.0)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")  # jax's own overflow, shown below
def test_a_variance_the_dtype_cannot_hold_is_computed_wider():
  # var = 1e6 overflows float16 (jax: inf and nan), but the std 1000 fits: the values are right
  init = jaxinit.variance_scaling(1e6, "fan_in", "normal")
  x = as_f64(init(KEY, (1, 4096), jnp.float16))
  assert np.isfinite(x).all()
  assert abs(x.std() / 1000 - 1) < 6 * np.sqrt(2 / x.size) + 0.002
  theirs = jax.nn.initializers.variance_scaling(1e6, "fan_in", "normal")(KEY, (1, 4096), jnp.float16)
  assert not np.isfinite(as_f64(theirs)).all()


def test_complex_parts_saturate_apart():
  x = jaxinit.constant(3e38 + 3e38j)(KEY, (2,), jnp.complex64)
  np.testing.assert_array_equal(np.asarray(x), np.complex64(3e38 + 3e38j))


def test_a_scale_beyond_every_float_raises_naming_it_and_the_dtype():
  for init, message in [(jaxinit.normal(1e39), "stddev=1e+39"), (jaxinit.identity(1e300), "gain=1e+300"),
                        (jaxinit.variance_scaling(1e300, "fan_in", "normal"), "scale=1e+300"),
                        (jaxinit.constant(-1e40), "value=1e+40")]:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
      init(KEY, (4, 4), jnp.float32)
    assert "float32" in str(info.value)


def test_a_scale_beyond_float32_works_in_float64():
  with jax.enable_x64(True):
    x = jaxinit.normal(1e39)(KEY, (64,), jnp.float64)
    assert x.dtype == jnp.float64 and np.isfinite(np.asarray(x)).all()
    assert 1e38 < float(jnp.abs(x).max()) < 1e41


def test_a_traced_scale_in_float16_is_finite():
  # a traced scale cannot be inspected: float16 then computes in float32 and saturates
  draw = jax.jit(lambda s: jaxinit.normal(s)(KEY, (256,), jnp.float16))
  x = as_f64(draw(jnp.float32(1e6)))
  assert np.isfinite(x).all() and np.abs(x).max() == 65504.0
  y = as_f64(draw(jnp.float32(1.0)))
  assert abs(y.std() - 1) < 0.15


def test_float8_e8m0fnu_is_refused():
  with pytest.raises(TypeError, match="dtype='float8_e8m0fnu'"):
    jaxinit.he_normal()(KEY, (4, 4), jnp.float8_e8m0fnu)
  with pytest.raises(TypeError, match="dtype='float8_e8m0fnu'"):
    jaxinit.zeros(KEY, (4,), jnp.float8_e8m0fnu)
