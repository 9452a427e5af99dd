"""Properties of the mean-field maps over random configurations (hypothesis).

For named activations, weight variances log-uniform in [1e-3, 1e3], bias variances 0 or in
[1e-6, 10] and starting q across 16 decades: the length map is finite or inf, never nan;
q* is where the map from q = 1 actually goes (monotonically, and all the way when it is
stable); chi1 is the slope of the correlation map at c = 1 (Poole et al., Exponential
expressivity in deep neural networks through transient chaos, 2016). A ValueError is
allowed only as the documented refusal of the 2-D rule beyond its range.
"""

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxinit.theory as theory
from jaxinit.theory import _fixed_points

DEPTH = 300  # one compiled length map for every example
ACTIVATIONS = ["tanh", "gelu", "silu", "selu", "relu"]
REFUSAL = re.escape("2-D quadrature is accurate for q <= 50")

log_uniform = lambda lo, hi: st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0**e)  # noqa: E731
configurations = st.tuples(
    st.sampled_from(ACTIVATIONS),
    log_uniform(1e-3, 1e3),
    st.one_of(st.just(0.0), log_uniform(1e-6, 10.0)),
)
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@SETTINGS
@given(configurations, log_uniform(1e-8, 1e8))
def test_length_map_is_never_nan(configuration, q0):
  q = np.asarray(theory.qmap(*configuration, q0, DEPTH))
  assert not np.any(np.isnan(q)) and np.all(q >= 0)
  assert np.all(np.isinf(q[np.argmax(np.isinf(q)):])) if np.any(np.isinf(q)) else True


@pytest.mark.slow
@SETTINGS
@given(configurations)
def test_fixed_point_is_reached_and_chi1_is_the_correlation_slope(configuration):
  try:  # fixed_point and depth_scales in one call of the shared program
    point, scales = _fixed_points.point("point", *configuration, None, "fixed_point")
  except ValueError as e:
    assert re.search(REFUSAL, str(e)), e
    return
  q_star, xi_q, chi1 = float(point.q_star), float(scales.xi_q), float(theory.chi1(*configuration))
  assert not (math.isnan(q_star) or math.isnan(xi_q) or math.isnan(chi1))
  q = np.asarray(theory.qmap(*configuration, 1.0, DEPTH))
  if math.isinf(q_star):
    assert q[-1] > 1.0 and (np.isinf(q[-1]) or q[-1] > q[-2])
    return
  # the map moves monotonically from 1 towards q* and never passes it
  low, high = min(1.0, q_star), max(1.0, q_star)
  assert low * (1 - 1e-9) <= q[-1] <= high * (1 + 1e-9)
  slope = math.exp(-1.0 / xi_q)  # the length map's slope at q*
  if slope <= 0.9:  # 0.9^300 is far below rounding: the map has arrived
    np.testing.assert_allclose(q[-1], q_star, rtol=1e-8, atol=1e-12)
  if 1e-6 < q_star <= 50:  # the slope of the c-map at c = 1 (the 2-D rule's range)
    gap = 1e-8
    c = np.asarray(theory.cmap(*configuration, q_star, 1.0 - gap, 1))
    np.testing.assert_allclose((1.0 - c[1]) / gap, chi1, rtol=1e-3)
