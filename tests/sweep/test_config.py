"""SweepConfig: one checked configuration that sweep runs and the result records; the input checks."""

import dataclasses
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit
from jaxinit.sweep import Scheme, SweepConfig, SweepConfigError, sweep

TINY = dict(activations=("relu",), depths=(1, 3), widths=(8,), batch=4, seeds=2)


def test_config_normalises_and_is_frozen():
  config = SweepConfig(schemes={"he": jaxinit.he_normal()}, activations="tanh", depths=(5, 2, 5), widths=16,
                       batch=4, seeds=1, key=3)
  assert config.scheme_labels == ("he",) and config.activation_labels == ("tanh",)
  assert config.depths == (2, 5) and config.widths == (16,) and config.max_depth == 5
  assert config.schemes[0].family == "truncated_normal"
  np.testing.assert_array_equal(jax.random.key_data(config.prng_key()),
                                jax.random.key_data(jax.random.key(3)))
  with pytest.raises(dataclasses.FrozenInstanceError):
    config.batch = 8
  assert config.replace(batch=8).batch == 8


def test_sweep_of_a_config_equals_sweep_of_its_keywords_and_records_it():
  config = SweepConfig(schemes=("he_normal", "zeros"), **TINY)
  by_config = sweep(config=config)
  by_keywords = sweep(("he_normal", "zeros"), **TINY)
  assert by_config.config is config
  for name in ("log_q", "log_grad", "corr"):
    np.testing.assert_array_equal(np.asarray(getattr(by_config, name)),
                                  np.asarray(getattr(by_keywords, name)))
  # the old static fields read the configuration, and cannot be set
  r = by_config
  assert (r.schemes, r.activations, r.widths, r.depths, r.seeds, r.batch) == (
      ("he_normal", "zeros"), ("relu",), (8,), (1, 3), 2, 4)
  assert (r.bias_std, r.architecture, r.branch_scale, r.input_correlation) == (0.0, "mlp", 1.0, 0.0)
  assert r.activation_params == (None,) and r.activation_fns == (config.activations[0].fn,)
  with pytest.raises(AttributeError):
    r.batch = 8


def test_config_and_keywords_together_are_refused():
  with pytest.raises(ValueError, match=r"config= and batch, seeds given together"):
    sweep(config=SweepConfig(schemes=("he_normal",), **TINY), batch=4, seeds=1)


def test_verdicts_are_computed_once():
  r = sweep(("he_normal",), **TINY)
  first = r.verdict()
  assert r.verdict() is first and r.stable_depth() is r.stable_depth()
  assert not first.flags.writeable  # a caller cannot change what every table reads


@pytest.mark.parametrize("batch", [3, 5])
def test_odd_batch_is_refused_naming_batch(batch):
  # inputs are paired (rows 2i, 2i + 1): batch 3 measured a wrong correlation, batch 5 crashed in an einsum
  with pytest.raises(SweepConfigError, match=re.escape(f"sweep: batch={batch} must be even")) as info:
    sweep(("he_normal",), **{**TINY, "batch": batch})
  assert info.value.parameter == "batch" and info.value.value == batch


def test_int_key_is_a_seed():
  by_int = sweep(("he_normal",), **TINY, key=7)
  by_key = sweep(("he_normal",), **TINY, key=jax.random.key(7))
  np.testing.assert_array_equal(np.asarray(by_int.log_q), np.asarray(by_key.log_q))
  with pytest.raises(SweepConfigError, match=r"key='7' must be an int seed or a PRNG key"):
    SweepConfig(key="7")


class _Unhashable:
  """An initializer object that cannot be hashed (``__hash__ = None``), like a dataclass with eq."""
  __hash__ = None

  def __call__(self, key, shape, dtype=jnp.float32):
    return jax.random.normal(key, shape, dtype) * math.sqrt(2.0 / shape[0])


@pytest.mark.slow
def test_unhashable_initializers_are_accepted():
  # a jnp.array scale makes the VarianceSpec unhashable; so is any object with __hash__ = None
  array_scale = jaxinit.variance_scaling(jnp.array(2.0), "fan_in", "normal")
  plain = jaxinit.variance_scaling(2.0, "fan_in", "normal")
  r = sweep({"vs": array_scale, "plain": plain, "obj": _Unhashable()}, **TINY)
  assert r.sigma_w2[:2] == ((2.0,), (2.0,))
  assert abs(r.sigma_w2[2][0] - 2.0) < 0.6  # measured on two 8 x 8 draws
  # the array-scaled scheme scales the same draw by the same std as the float-scaled one
  np.testing.assert_array_equal(np.asarray(r.log_q)[0], np.asarray(r.log_q)[1])


def test_a_draw_of_the_wrong_shape_names_the_scheme():
  def wrong(key, shape, dtype=jnp.float32):
    return jax.random.normal(key, (shape[0], shape[1] + 1), dtype)

  message = "scheme='wrong' drew shape (8, 9) for a kernel of shape (8, 8)"
  with pytest.raises(SweepConfigError, match=re.escape(message)):
    sweep({"wrong": wrong}, **TINY)


def test_a_non_elementwise_activation_is_refused():
  message = "activation='total' must be elementwise"  # the one check of jaxinit.core, shared with the theory
  with pytest.raises(SweepConfigError, match=re.escape(message)):
    sweep(("he_normal",), **{**TINY, "activations": {"total": jnp.sum}})


SWEEP_ERRORS = [
    (dict(widths=(8, 8)), "widths=(8, 8) repeats a width"),
    (dict(depths=(0,)), "depths=(0,) must hold ints >= 1"),
    (dict(branch_scale=math.inf), "branch_scale=inf must be finite"),
    (dict(devices=()), "devices=() is empty"),
    (dict(schemes=(3,)), "scheme=3 must be a scheme name or an initializer"),
    (dict(schemes={"a": "he_normal", "b": "he_normal"}, activations=("relu", "relu")), "repeats a label"),
]


@pytest.mark.parametrize("kwargs,message", SWEEP_ERRORS)
def test_config_errors_name_the_parameter(kwargs, message):
  with pytest.raises(SweepConfigError, match=re.escape(message)):
    SweepConfig(**{"schemes": ("he_normal",), **TINY, **kwargs})


def _scheme(result, label):
  i = result.schemes.index(label)
  return jax.tree.map(lambda x: x[i:i + 1], result)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["dense", "gaussian"])
def test_a_configuration_does_not_depend_on_the_rest_of_the_sweep_beyond_rounding(engine):
  # the tolerance sweep()'s docstring states: 1e-5 (dense) and 1e-3 (gaussian) over 16 stable layers
  tol = {"dense": 1e-5, "gaussian": 1e-3}[engine]
  family = {"lecun": jaxinit.variance_scaling(1.0, "fan_in", "normal"),
            "he": jaxinit.variance_scaling(2.0, "fan_in", "normal"),
            "mid": jaxinit.variance_scaling(1.5, "fan_in", "normal")}
  kwargs = dict(activations=("relu", "tanh"), depths=(16,), widths=(32,), batch=2, bias_std=0.1,
                engine=engine)
  alone = sweep({"he": family["he"]}, seeds=2, **kwargs)
  # he among two more schemes of its family, last instead of first
  others = [sweep({k: family[k] for k in ("mid", "lecun", "he")}, seeds=2, **kwargs)]
  more_seeds = jax.tree.map(lambda x: x[..., :2, :], sweep({"he": family["he"]}, seeds=3, **kwargs))
  for run in [_scheme(r, "he") for r in others] + [more_seeds]:
    for name in ("log_q", "log_m", "log_grad", "log_norm0", "corr", "spread"):
      np.testing.assert_allclose(np.asarray(getattr(run, name)), np.asarray(getattr(alone, name)), rtol=0,
                                 atol=tol, err_msg=name)


@pytest.mark.slow
def test_the_sweep_layer_does_not_import_the_report_layer():
  import subprocess
  import sys

  code = ("import sys, jaxinit, jaxinit.sweep; "
          "print(sorted(m for m in sys.modules if m.startswith(('jaxinit.report', 'jaxinit.cli', 'matplotlib'))))")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.strip() == "[]"


@pytest.mark.slow
def test_schemes_that_would_compute_the_same_numbers_share_a_lane():
  from jaxinit.sweep import _engines

  config = SweepConfig(schemes=("he_normal", "glorot_normal", "lecun_normal", "orthogonal"), activations=("relu",),
                       depths=(1, 8), widths=(16,), batch=4, seeds=2)
  lanes = _engines.plan_lanes(config.schemes, 16, config.bias_stds)
  # on the sweep's square layers fan_avg = fan_in: glorot_normal draws what lecun_normal draws
  assert lanes.of_group == ((0, 1), (3,)) and lanes.of_scheme == (0, 1, 1, 2)
  r = sweep(config=config)
  for m in ("log_q", "log_m", "log_grad", "corr", "spread", "dead"):
    np.testing.assert_array_equal(np.asarray(getattr(r, m))[1], np.asarray(getattr(r, m))[2], err_msg=m)
  alone = sweep(config=config.replace(schemes=("lecun_normal",)))
  np.testing.assert_allclose(np.asarray(r.log_m)[2], np.asarray(alone.log_m)[0], rtol=1e-5, atol=1e-5)
  # the same std with another bias is another simulation
  paired = config.replace(schemes=("lecun_normal", Scheme("lecun+bias", jaxinit.lecun_normal(), bias_std=0.3)))
  assert _engines.plan_lanes(paired.schemes, 16, paired.bias_stds).of_scheme == (0, 1)


@pytest.mark.slow
def test_a_scheme_with_its_own_bias_runs_with_it_whatever_the_sweeps_bias_std():
  grid = dict(activations=("tanh",), depths=(1, 4, 12), widths=(32,), batch=8, seeds=3, key=3)
  mixed = sweep(schemes=("he_normal", Scheme("eoc", jaxinit.variance_scaling(1.761, "fan_in", "normal"),
                                             bias_std=0.05 ** 0.5)), bias_std=0.0, **grid)
  assert mixed.bias_stds == (0.0, 0.05 ** 0.5)
  biased = sweep(schemes={"eoc": jaxinit.variance_scaling(1.761, "fan_in", "normal")}, bias_std=0.05 ** 0.5,
                 **grid)
  plain = sweep(schemes=("he_normal",), bias_std=0.0, **grid)
  for m in ("log_q", "log_m", "corr"):
    np.testing.assert_allclose(np.asarray(getattr(mixed, m))[1], np.asarray(getattr(biased, m))[0], rtol=1e-5,
                               atol=1e-5, err_msg=m)
    np.testing.assert_allclose(np.asarray(getattr(mixed, m))[0], np.asarray(getattr(plain, m))[0], rtol=1e-5,
                               atol=1e-5, err_msg=m)
  # and the theory beside it uses each scheme's own biases
  for field in ("log_q", "log_m", "corr", "log_grad"):
    np.testing.assert_allclose(getattr(mixed.theory(), field)[1], getattr(biased.theory(), field)[0], rtol=1e-12,
                               err_msg=field)
    np.testing.assert_allclose(getattr(mixed.theory(), field)[0], getattr(plain.theory(), field)[0], rtol=1e-12,
                               err_msg=field)
  # a named edge of chaos carries the bias variance it is critical with
  named = SweepConfig(schemes=("edge_of_chaos:tanh,0.1", "edge_of_chaos:tanh"), bias_std=0.2)
  assert named.bias_stds == pytest.approx((0.1 ** 0.5, 0.05 ** 0.5))
  with pytest.raises(SweepConfigError, match="bias_std"):
    Scheme("bad", jaxinit.he_normal(), bias_std=-1.0)
