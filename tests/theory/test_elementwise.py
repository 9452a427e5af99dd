"""A callable activation must act elementwise; the theory and gain() refuse one that does not."""

import re

import jax.numpy as jnp
import pytest

import jaxinit
import jaxinit.theory as theory


def total(x):
  return jnp.sum(x)


def centred(x):
  return x - jnp.mean(x)


CALLS = {
    "qmap": lambda f: theory.qmap(f, 1.0, 0.0, 1.0, 2),
    "cmap": lambda f: theory.cmap(f, 1.0, 0.0, 1.0, 0.5, 2),
    "ntk": lambda f: theory.ntk(f, 1.0, 0.0, 1.0, 0.5, 2),
    "grad_map": lambda f: theory.grad_map(f, 1.0, 0.0, 1.0, 2),
    "fixed_point": lambda f: theory.fixed_point(f, 1.0, 0.0),
    "chi1": lambda f: theory.chi1(f, 1.0, 0.0),
    "depth_scales": lambda f: theory.depth_scales(f, 1.0, 0.0),
    "length_map_slope": lambda f: theory.length_map_slope(f, 1.0, 0.0),
    "edge_of_chaos": lambda f: theory.edge_of_chaos(f, 0.1),
    "jacobian_spectrum_variance": lambda f: theory.jacobian_spectrum_variance(f, 1.0, 0.0, 3),
    "gain": lambda f: jaxinit.gain(f),
}


@pytest.mark.parametrize("fn", [total, centred], ids=["sum", "centred"])
@pytest.mark.parametrize("where", sorted(CALLS))
def test_non_elementwise_callables_are_refused(where, fn):
  with pytest.raises(ValueError, match=re.escape(f"{where}: activation=") + ".*must be elementwise"):
    CALLS[where](fn)


def test_elementwise_callables_still_pass():
  assert float(theory.qmap(jnp.tanh, 1.0, 0.0, 1.0, 1)[1]) == pytest.approx(0.39429449, rel=1e-7)
