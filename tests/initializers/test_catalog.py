"""Scheme names: the catalogue, schemes with arguments, and the splitting of comma-separated lists."""

import pytest

import jaxinit
from jaxinit import theory
from jaxinit.initializers import _catalog


def _spec(init):
  return jaxinit.describe(init).spec


def test_every_catalogue_name_builds():
  for name in _catalog.SCHEME_NAMES:
    assert callable(_catalog.lookup(name))


@pytest.mark.parametrize("name, expected", [
    ("for_activation:tanh", lambda: jaxinit.for_activation("tanh")),
    ("variance_scaling:2,fan_in,normal", lambda: jaxinit.variance_scaling(2.0, "fan_in", "normal")),
    ("variance_scaling:0.5,fan_avg,uniform", lambda: jaxinit.variance_scaling(0.5, "fan_avg", "uniform")),
])
def test_schemes_with_arguments_equal_their_factories(name, expected):
  assert _spec(_catalog.lookup(name)) == _spec(expected())


@pytest.mark.parametrize("name, sigma_b2", [("edge_of_chaos:tanh", 0.05), ("edge_of_chaos:tanh,0.3", 0.3)])
def test_edge_of_chaos_is_the_critical_variance(name, sigma_b2):
  spec = _spec(_catalog.lookup(name))
  assert (spec.mode, spec.distribution) == ("fan_in", "normal")
  assert spec.scale == pytest.approx(float(theory.edge_of_chaos("tanh", sigma_b2).sigma_w2), rel=1e-12)
  # Schoenholz et al. 2017: the critical sigma_w^2 of tanh is 1.761 at sigma_b^2 = 0.05 and 2.505 at 0.3
  assert spec.scale == pytest.approx({0.05: 1.761, 0.3: 2.505}[sigma_b2], abs=2e-3)


@pytest.mark.parametrize("name, message", [
    ("he_normall", "is unknown"),
    ("cauchy:2", "schemes with arguments are"),
    ("variance_scaling:2,fan_in", "does not read as variance_scaling:SCALE,MODE,DISTRIBUTION"),
    ("variance_scaling:two,fan_in,normal", "'two' is not a number"),
    ("variance_scaling:2,fan_up,normal", "mode='fan_up'"),
    ("for_activation:swish9", "activation='swish9'"),
    ("edge_of_chaos:gelu,0", "has no edge of chaos"),
    ("edge_of_chaos:", "does not read as"),
])
def test_bad_names_say_what_is_wrong(name, message):
  with pytest.raises(ValueError, match=message.replace("(", r"\(")):
    _catalog.lookup(name, where="--schemes")


def test_split_keeps_the_arguments_of_a_scheme():
  text = "he_normal,variance_scaling:2,fan_in,normal,edge_of_chaos:tanh,0.1,normal,edge_of_chaos:tanh,orthogonal"
  assert _catalog.split_names(text) == ["he_normal", "variance_scaling:2,fan_in,normal", "edge_of_chaos:tanh,0.1",
                                         "normal", "edge_of_chaos:tanh", "orthogonal"]
