"""Property-based checks of the sweep's arguments: any input is a valid configuration or a clear error.

Building a ``SweepConfig`` runs every check a sweep makes before anything compiles, so these draw
arguments freely (hypothesis) and never run a network.
"""

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxinit.sweep import SweepConfig, SweepConfigError

# mostly valid values, with every kind of invalid one mixed in: each argument is wrong about a fifth of the time
bad_ints = st.one_of(st.integers(-3, 0), st.just(True), st.floats(-2, 64), st.text(max_size=2))
ints = st.one_of(*[st.integers(1, 64)] * 4, bad_ints)
bad_reals = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, -1), st.text(max_size=2))
reals = st.one_of(*[st.floats(0, 0.99)] * 4, bad_reals)
int_lists = st.one_of(*[st.lists(st.integers(1, 64), min_size=1, max_size=4)] * 4, ints, st.lists(ints, max_size=4),
                      st.just(()))
ARGS = dict(depths=int_lists, widths=int_lists, batch=ints, seeds=ints, bias_std=reals, branch_scale=reals,
            input_correlation=reals, architecture=st.sampled_from(["mlp", "resnet", "cnn", ""]),
            engine=st.sampled_from(["auto", "dense", "gaussian", "fast"]),
            schemes=st.sampled_from([("he_normal",), ("he_normal", "he_normal"), ("nope",), (), ("orthogonal",),
                                     ("variance_scaling:2,fan_in,normal",), ("edge_of_chaos:tanh,0.05",)]),
            activations=st.sampled_from([("relu",), ("tanh", "tanh"), ("swish9",), (), ("gelu", "leaky_relu")]))


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(**ARGS)
def test_any_arguments_give_a_configuration_or_an_error_naming_the_parameter(**kwargs):
  try:
    config = SweepConfig(**kwargs)
  except SweepConfigError as e:
    assert e.parameter.rstrip("s") in {name.rstrip("s") for name in kwargs} | {"scheme", "activation", "width"}
    assert str(e).startswith("sweep: ") and re.search(rf"\b{re.escape(e.parameter)}", str(e))
    return
  # accepted: every value is what a sweep can run
  assert config.batch % 2 == 0 and config.batch >= 2 and config.seeds >= 1
  assert config.depths == tuple(sorted(set(config.depths))) and min(config.depths) >= 1
  assert min(config.widths) >= 1 and len(set(config.widths)) == len(config.widths)
  assert math.isfinite(config.bias_std) and config.bias_std >= 0 and math.isfinite(config.branch_scale)
  assert 0 <= config.input_correlation < 1
  assert config.architecture in ("mlp", "resnet") and config.engine in ("auto", "dense", "gaussian")


@pytest.mark.parametrize("batch", [3, 5, 7])
def test_odd_batches_are_refused_whatever_else(batch):
  with pytest.raises(SweepConfigError, match=f"batch={batch} must be even"):
    SweepConfig(schemes=("he_normal",), activations=("relu",), depths=(1,), widths=(8,), batch=batch, seeds=1)


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(depths=st.lists(st.integers(1, 300), min_size=1, max_size=5), widths=st.sets(st.integers(1, 512), min_size=1,
       max_size=4), batch=st.integers(1, 128).map(lambda b: 2 * b), seeds=st.integers(1, 8),
       bias_std=st.floats(0, 10), branch_scale=st.floats(-10, 10), input_correlation=st.floats(0, 0.999),
       architecture=st.sampled_from(["mlp", "resnet"]), engine=st.sampled_from(["auto", "dense"]))
def test_valid_arguments_are_accepted_as_given(depths, widths, **kwargs):
  config = SweepConfig(schemes=("he_normal", "orthogonal"), activations=("relu", "tanh"), depths=depths,
                       widths=sorted(widths), **kwargs)
  assert config.depths == tuple(sorted(set(depths))) and config.widths == tuple(sorted(widths))
  assert (config.batch, config.seeds, config.architecture) == (kwargs["batch"], kwargs["seeds"],
                                                               kwargs["architecture"])
  assert config.bias_std == kwargs["bias_std"] and config.input_correlation == kwargs["input_correlation"]
