"""Property-based tests: any options, shape and dtype give a finite array of the right shape and dtype
with the promised variance, or a clear error naming the parameter.

Shapes and dtypes come from small fixed sets so that jax's per-shape compilations are shared
across examples; scales span many decades, so that overflow and underflow are exercised too.
"""

import math
import re
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import jaxinit

KEY = jax.random.key(0)
DTYPES = ["float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", "complex64"]
SHAPES = [(0, 4), (64,), (32, 17), (3, 3, 8, 16), (2, 3, 3, 4, 8)]
AXIS = st.integers(-3, 2)
AXES = st.one_of(AXIS, st.tuples(AXIS), st.tuples(AXIS, AXIS))
# half the scales near 1, where every dtype holds the draw and its variance is checked; half anywhere
SCALES = st.one_of(st.floats(-1.5, 1.5), st.floats(-10, 12)).map(lambda e: 10.0 ** e)
NAMES_A_PARAMETER = re.compile(r"[a-z_]+=")
TRUNCATED_VAR = stats.truncnorm.var(-2, 2)


class Case(NamedTuple):
  make: Callable  # () -> initializer
  moments: Callable  # shape -> (E|x - mean|^2, mean)
  bound: float  # the largest |x - mean| in units of the std
  kurtosis: float = 3.0  # E|x - mean|^4 / (E|x - mean|^2)^2, at most


def variance_scaling_case(draw):
  scale = draw(SCALES)
  mode = draw(st.sampled_from(["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]))
  distribution = draw(st.sampled_from(["truncated_normal", "normal", "uniform"]))
  axes = draw(st.one_of(st.just({"in_axis": -2, "out_axis": -1, "batch_axis": ()}),
                        st.fixed_dictionaries({"in_axis": AXES, "out_axis": AXES,
                                               "batch_axis": st.one_of(st.just(()), AXES)})))

  def second_moment(shape):
    fans = jaxinit.compute_fans(shape, **axes)
    n = {"fan_in": fans.fan_in, "fan_out": fans.fan_out, "fan_avg": (fans.fan_in + fans.fan_out) / 2,
         "fan_geo_avg": math.sqrt(fans.fan_in * fans.fan_out)}[mode]
    return scale / n, 0.0

  bound = {"truncated_normal": 2 / 0.8796, "normal": 6.0, "uniform": math.sqrt(3)}[distribution]
  return Case(lambda: jaxinit.variance_scaling(scale, mode, distribution, **axes), second_moment, bound)


@st.composite
def cases(draw):
  kind = draw(st.sampled_from(["variance_scaling", "normal", "truncated_normal", "uniform", "constant",
                               "orthogonal", "identity", "sparse"]))
  if kind == "variance_scaling":
    return variance_scaling_case(draw)
  s = draw(SCALES)
  if kind == "normal":
    return Case(lambda: jaxinit.normal(s), (lambda shape: (s * s, 0.0)), 6.0)
  if kind == "truncated_normal":
    return Case(lambda: jaxinit.truncated_normal(s), (lambda shape: (s * s * TRUNCATED_VAR, 0.0)), 2.5)
  if kind == "uniform":
    return Case(lambda: jaxinit.uniform(s), (lambda shape: (s * s / 12, s / 2)), 4.0)
  if kind == "constant":
    value = draw(st.sampled_from([-1.0, 1.0])) * s
    return Case(lambda: jaxinit.constant(value), (lambda shape: (0.0, value)), 1.0)
  if kind == "orthogonal":
    # s times orthonormal rows or columns: the squares sum to s^2 min(rows, cols) exactly
    return Case(lambda: jaxinit.orthogonal(s),
                (lambda shape: (s * s / max(math.prod(shape[:-1]), shape[-1]), 0.0)), 1.0)
  if kind == "identity":
    return Case(lambda: jaxinit.identity(s),
                (lambda shape: (s * s * min(shape) / math.prod(shape), 0.0)), 1.0)
  sparsity = draw(st.floats(0, 0.5))

  def sparse_moment(shape):
    fan_in = math.prod(shape[:-1])
    return (1 - math.ceil(sparsity * fan_in) / fan_in) * s * s, 0.0

  # zeros at a rate p <= 0.5 + 1 / fan_in raise the kurtosis to 3 / (1 - p) < 7 on these shapes
  return Case(lambda: jaxinit.sparse(sparsity, s), sparse_moment, 6.0, kurtosis=7.0)


def as_complex128(x) -> np.ndarray:
  return np.asarray(x.astype(jnp.complex64 if jnp.iscomplexobj(x) else jnp.float32)).astype(np.complex128)


def in_range(std: float, bound_in_stds: float, dtype) -> bool:
  """Whether the dtype holds the draw without saturating it or flushing much of it to subnormals."""
  info = ml_dtypes.finfo(np.dtype(dtype) if dtype != "complex64" else np.float32)
  return std * bound_in_stds < float(info.max) and std > 8 * float(info.smallest_normal)


def rounding(dtype) -> float:
  """Bound on the relative change of a second moment from rounding each sample to ``dtype``."""
  return 0.0 if dtype == "complex64" else 2 * float(ml_dtypes.finfo(dtype).eps)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, derandomize=True)
@given(case=cases(), shape=st.sampled_from(SHAPES), dtype=st.sampled_from(DTYPES))
def test_any_options_shape_and_dtype(case, shape, dtype):
  try:
    x = case.make()(KEY, shape, dtype)
  except (ValueError, TypeError) as e:  # a clear error names the parameter and its value
    assert NAMES_A_PARAMETER.search(str(e)), str(e)
    return
  assert x.shape == shape and x.dtype == jnp.dtype(dtype)
  values = as_complex128(x)
  assert np.isfinite(values).all()
  fmax = float(ml_dtypes.finfo(np.float32 if dtype == "complex64" else dtype).max)
  assert np.abs(values.real).max(initial=0) <= fmax and np.abs(values.imag).max(initial=0) <= fmax
  if values.size < 256:
    return
  variance, mean = case.moments(shape)
  if variance == 0.0:  # a constant: exact up to rounding, or saturated
    if in_range(abs(mean), 1.0, dtype):
      np.testing.assert_allclose(values, mean, rtol=float(ml_dtypes.finfo(np.float32 if dtype == "complex64"
                                                                            else dtype).eps))
    return
  if not in_range(math.sqrt(variance), case.bound, dtype):
    return
  observed = np.mean(np.abs(values - mean) ** 2)
  # the second moment of n i.i.d. draws has relative std sqrt((kurtosis - 1) / n): allow 6 of those
  tolerance = 6 * math.sqrt((case.kurtosis - 1) / values.size) + rounding(dtype)
  assert abs(observed / variance - 1) < tolerance, (observed, variance, tolerance)
