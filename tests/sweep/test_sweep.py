"""The sweep against exact results: mean-field theory, finite-width laws, engines and devices."""

import functools
import math
import os
import subprocess
import sys
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit
from jaxinit import theory

LOG2 = math.log(2.0)


def vs(scale, distribution="normal"):
  return jaxinit.variance_scaling(scale, "fan_in", distribution)


@functools.cache
def relu_deep():
  """He, LeCun and zero init, ReLU, width 512 to depth 64."""
  return jaxinit.sweep({"he": jaxinit.he_normal(), "lecun": jaxinit.lecun_normal(), "zeros": jaxinit.zeros},
                       ("relu",), depths=range(1, 65), widths=(512,), batch=16, seeds=8,
                       key=jax.random.key(1))


@functools.cache
def tanh_phases():
  """tanh at sigma_w^2 = 1 (ordered) and 4 (chaotic), sigma_b^2 = 0.05, widths 32 and 512."""
  return jaxinit.sweep({"sw1": vs(1.0), "sw1.5": vs(1.5), "sw4": vs(4.0)}, ("tanh",), depths=range(1, 97),
                       widths=(32, 512), batch=16, seeds=4, bias_std=math.sqrt(0.05), engine="dense",
                       key=jax.random.key(2))


def seed_mean(x):
  return np.asarray(x).mean(axis=3)


@pytest.mark.slow
def test_he_relu_keeps_the_signal_and_lecun_halves_it():
  r = relu_deep()
  he, lecun = r.schemes.index("he"), r.schemes.index("lecun")
  beta_per_layer = 1 / 512
  layers = np.array([8, 16, 32, 64])
  # E[M_L / M_0] = 1 for He: the seed mean of M_L / M_0 is 1 within 4 standard errors
  ratio = np.exp(np.asarray(r.log_norm0)[he, 0, 0][:, layers - 1])  # (seed, layer)
  se = ratio.std(axis=0, ddof=1) / math.sqrt(r.seeds)
  assert np.all(np.abs(ratio.mean(axis=0) - 1) < 4 * se + 0.02), (ratio.mean(axis=0), se)
  # log-moments: mean -5 beta / 2 (Hanin), for He at 0 per layer and for LeCun at -log 2 per layer
  for s, drift in ((he, 0.0), (lecun, -LOG2)):
    logs = np.asarray(r.log_norm0)[s, 0, 0][:, layers - 1]
    predicted = layers * (drift - 2.5 * beta_per_layer)
    tol = 4 * np.sqrt(5 * layers * beta_per_layer / r.seeds) + 0.02
    assert np.all(np.abs(logs.mean(axis=0) - predicted) < tol), (s, logs.mean(axis=0), predicted)
  # LeCun / ReLU: M_L / M_0 ~ 2^-L; He: verdict stable to 64, LeCun vanishing by depth 8
  fwd = r.forward_log10()
  assert abs(fwd[lecun, 0, 0, 63] / (-64 * math.log10(2)) - 1) < 0.05
  verdict = r.verdict()
  assert set(verdict[he, 0, 0]) == {"stable"}
  assert verdict[lecun, 0, 0, 7] == "vanishing" and verdict[lecun, 0, 0, 3] == "stable"


@pytest.mark.slow
def test_zero_init_collapses_and_relu_kills_half_the_units():
  r = relu_deep()
  assert set(r.verdict()[r.schemes.index("zeros")].ravel()) == {"collapsed"}
  dead = seed_mean(r.dead)[r.schemes.index("he"), 0, 0]
  assert np.all(np.abs(dead[:32] - 0.5) < 0.03), dead[:32]


@pytest.mark.slow
def test_common_random_numbers_scale_one_draw():
  # He and LeCun share one truncated-normal draw: the first layer's q differs by exactly 2x
  r = relu_deep()
  log_q = np.asarray(r.log_q)
  chex.assert_trees_all_close(log_q[0, 0, 0, :, 0] - log_q[1, 0, 0, :, 0], np.full(r.seeds, LOG2), atol=1e-5)


@pytest.mark.slow
def test_tanh_ordered_and_chaotic_phases_match_theory():
  r = tanh_phases()
  sw1, sw4 = r.schemes.index("sw1"), r.schemes.index("sw4")
  corr = seed_mean(r.corr)[:, 0, 1]  # width 512
  c_star = float(theory.fixed_point("tanh", 4.0, 0.05).c_star)
  assert corr[sw1, -1] > 0.99  # ordered: inputs collapse
  assert r.verdict()[sw1, 0, 1, -1] == "collapsed"
  assert c_star < 0.5 and abs(corr[sw4, -1] - c_star) < 0.05  # chaotic: c -> c* < 1
  assert float(theory.chi1("tanh", 1.0, 0.05)) < 1 < float(theory.chi1("tanh", 4.0, 0.05))


@pytest.mark.slow
def test_simulation_converges_to_theory_as_width_grows():
  r = tanh_phases()
  curves = r.theory()
  errors = []
  for k in range(len(r.widths)):
    sim_q = seed_mean(r.log_q)[:, 0, k, :40]
    sim_c = seed_mean(r.corr)[:, 0, k, :40]
    errors.append(np.abs(sim_q - curves.log_q[:, 0, k, :40]).mean() + np.abs(sim_c - curves.corr[:, 0, k, :40]).mean())
  # widths 32 -> 512: Monte-Carlo error ~ 1 / sqrt(width) shrinks about 4x; require at least 2.5x
  assert errors[1] < errors[0] / 2.5, errors
  assert errors[1] < 0.04, errors


@pytest.mark.slow
def test_gradient_ratio_tracks_chi1():
  r = tanh_phases()
  curves = r.theory()
  g = seed_mean(r.log_grad)[:, 0, 1]  # width 512
  sim = g - g[:, :1]
  for s, name in enumerate(r.schemes):
    pred = curves.log_grad[s, 0, 1]
    assert np.all(np.abs(sim[:, :48][s] - pred[:48]) < 0.1 + 0.02 * np.abs(pred[:48])), name
  # deep in the ordered phase the per-layer factor is chi_1 at q*
  chi = float(theory.chi1("tanh", 1.5, 0.05))
  s = r.schemes.index("sw1.5")
  slope = (sim[s, 90] - sim[s, 60]) / 30
  assert abs(slope - math.log(chi)) < 0.01, (slope, math.log(chi))


@pytest.mark.slow
def test_finite_width_log_norm_variance():
  # ReLU / He with Gaussian weights: Var log(M_L / M_0) = 5 beta, beta = sum 1 / N_l (Hanin & Nica)
  width, depth, seeds = 32, 16, 256
  r = jaxinit.sweep({"he": vs(2.0)}, ("relu",), depths=(depth,), widths=(width,), batch=2, seeds=seeds,
                    key=jax.random.key(3))
  logs = np.asarray(r.log_norm0)[0, 0, 0, :, depth - 1]
  exact = theory.relu_log_norm_moments([width] * depth, exact=True)
  asym = theory.relu_log_norm_moments([width] * depth)
  assert float(asym.var) == pytest.approx(5 * depth / width)
  se_var = float(exact.var) * math.sqrt(2 / (seeds - 1))
  assert abs(logs.var(ddof=1) - float(exact.var)) < 4 * se_var, (logs.var(ddof=1), float(exact.var))
  assert abs(logs.mean() - float(exact.mean)) < 4 * math.sqrt(float(exact.var) / seeds)


@pytest.mark.slow
def test_gaussian_engine_agrees_with_dense():
  schemes = {"he": vs(2.0), "lecun": vs(1.0), "ortho": jaxinit.orthogonal(), "ortho2": jaxinit.orthogonal(1.5)}
  kwargs = dict(schemes=schemes, activations=("relu", "tanh"), depths=range(1, 25), widths=(128,), batch=8,
                seeds=16, bias_std=0.1)
  dense = jaxinit.sweep(engine="dense", key=jax.random.key(4), **kwargs)
  gauss = jaxinit.sweep(engine="gaussian", key=jax.random.key(5), **kwargs)
  assert gauss.engines == ("gaussian",) and dense.engines == ("dense",)
  for metric in ("log_q", "corr", "log_m"):
    a, b = np.asarray(getattr(dense, metric)), np.asarray(getattr(gauss, metric))
    diff = a.mean(axis=3) - b.mean(axis=3)
    se = np.sqrt((a.var(axis=3, ddof=1) + b.var(axis=3, ddof=1)) / dense.seeds)
    assert np.all(np.abs(diff) < 5 * se + 1e-3), (metric, np.abs(diff / (se + 1e-9)).max())
  a, b = (np.asarray(r.log_grad) - np.asarray(r.log_grad)[..., :1] for r in (dense, gauss))
  se = np.sqrt((a.var(axis=3, ddof=1) + b.var(axis=3, ddof=1)) / dense.seeds)
  assert np.all(np.abs(a.mean(axis=3) - b.mean(axis=3)) < 5 * se + 1e-3)
  # rows of very different size: a chaotic tangent grows by chi_1^L beside the signal
  chaos = jaxinit.sweep({"sw3": vs(3.0)}, ("tanh",), depths=(100,), widths=(128,), batch=8, seeds=4,
                        bias_std=math.sqrt(0.05), input_correlation=0.9, engine="gaussian")
  c_star = float(theory.fixed_point("tanh", 3.0, 0.05).c_star)
  # finite-width c fluctuates by ~0.1 per layer at N = 128: average the last 50 layers
  assert abs(seed_mean(chaos.corr)[0, 0, 0, 50:].mean() - c_star) < 0.1
  g = seed_mean(chaos.log_grad)[0, 0, 0]
  assert abs((g[-1] - g[20]) / 79 - math.log(float(theory.chi1("tanh", 3.0, 0.05)))) < 0.02
  # a dead ReLU layer (every unit off) stays dead: zero rows stay exactly zero
  tiny = jaxinit.sweep({"he": vs(2.0)}, ("relu",), depths=(12,), widths=(4,), batch=2, seeds=64, engine="gaussian")
  assert np.isneginf(np.asarray(tiny.log_norm0)[0, 0, 0, :, -1]).sum() >= 5
  # auto samples Gaussian weights from width >= 16 x batch, orthogonal ones from 8 x batch
  auto = jaxinit.sweep({**schemes, "trunc": jaxinit.he_normal()}, ("relu",), depths=(2,), widths=(8, 32, 64),
                       batch=4, seeds=1)
  assert auto.engines == ("dense", "mixed", "mixed")
  assert auto.scheme_engines == (("dense", "dense", "gaussian"),) * 2 + (("dense", "gaussian", "gaussian"),) * 2 + (
      ("dense",) * 3,)
  assert jaxinit.sweep(("he_normal",), ("relu",), depths=(2,), widths=(64,), batch=8, seeds=1).engines == ("dense",)


@pytest.mark.slow
def test_resnet_branch_scaling_and_any_initializer():
  depth, eta2 = 32, 1 / 32
  r = jaxinit.sweep({"he": jaxinit.he_normal(), "ortho": jaxinit.orthogonal(math.sqrt(2)),
                     "custom": lambda key, shape, dtype=jnp.float32: jax.random.normal(key, shape, dtype)
                     * math.sqrt(2 / shape[0])},
                    ("relu",), depths=(depth,), widths=(256,), batch=8, seeds=4, architecture="resnet",
                    branch_scale=math.sqrt(eta2), key=jax.random.key(6))
  # E|x_L|^2 = |x_0|^2 (1 + eta^2)^L for a norm-preserving branch
  # (Zhang, Dauphin & Ma, Fixup Initialization, 2019)
  predicted = depth * math.log(1 + eta2)
  assert np.all(np.abs(seed_mean(r.log_m)[:, 0, 0, -1] - predicted) < 0.1), seed_mean(r.log_m)[:, 0, 0, -1]
  with pytest.raises(ValueError, match="architecture='resnet'"):
    r.theory()


@pytest.mark.slow
def test_prefix_depths_and_outputs(tmp_path):
  r = jaxinit.sweep(("he_normal", "zeros"), ("relu", "tanh"), depths=(2, 5, 3), widths=(8, 16), batch=4, seeds=2)
  assert r.depths == (2, 3, 5)
  assert r.log_q.shape == (2, 2, 2, 2, 5)
  assert r.verdict().shape == (2, 2, 2, 3)
  # a depth-3 sweep is the prefix of the depth-5 one
  short = jaxinit.sweep(("he_normal", "zeros"), ("relu", "tanh"), depths=(3,), widths=(8, 16), batch=4, seeds=2)
  chex.assert_trees_all_close(np.asarray(short.log_q), np.asarray(r.log_q)[..., :3], rtol=1e-5, atol=1e-6)
  rows = r.rows()
  assert len(rows) == 2 * 2 * 2 * 3 and {"scheme", "verdict", "forward_log10", "log_q_mean"} <= set(rows[0])
  import csv
  import json
  doc = json.loads(r.to_json(tmp_path / "s.json").read_text())
  assert len(doc["configurations"]) == len(rows)
  with open(r.to_csv(tmp_path / "s.csv")) as f:
    assert len(list(csv.DictReader(f))) == len(rows)
  leaves = jax.tree.leaves(r)
  assert len(leaves) == 8  # a pytree of its metric arrays


SWEEP_ERRORS = [
    (dict(schemes=("he_nrmal",)), "scheme='he_nrmal'"),
    (dict(activations=("relux",)), "activation='relux'"),
    (dict(widths=(0,)), "widths=(0,)"),
    (dict(depths=()), "depths=() is empty"),
    (dict(batch=1), "batch=1"),
    (dict(seeds=0), "seeds=0"),
    (dict(bias_std=-1.0), "bias_std=-1.0"),
    (dict(architecture="transformer"), "architecture='transformer'"),
    (dict(engine="fast"), "engine='fast'"),
    (dict(engine="gaussian"), "engine='gaussian'"),
    (dict(engine="gaussian", schemes=("orthogonal",), batch=8), "not for schemes ['orthogonal'] at width=8, batch=8"),
    (dict(input_correlation=1.0), "input_correlation=1.0"),
]


@pytest.mark.parametrize("kwargs,message", SWEEP_ERRORS)
def test_sweep_errors(kwargs, message):
  import re
  args = dict(schemes=("he_normal",), activations=("relu",), depths=(2,), widths=(8,), batch=4, seeds=1)
  args.update(kwargs)
  with pytest.raises(ValueError, match=re.escape(message)):
    jaxinit.sweep(**args)


@pytest.mark.slow
def test_sharded_over_four_devices_is_identical():
  script = Path(__file__).parent / "scripts" / "sharded_sweep.py"
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "identical across 1 and 4 devices" in proc.stdout


def test_overflow_is_a_verdict_not_a_crash():
  r = jaxinit.sweep({"huge": vs(100.0)}, ("relu", "identity"), depths=(2, 8, 60), widths=(16,), batch=4, seeds=2)
  verdict = r.verdict()[0, :, 0]
  assert set(verdict[:, 0]) == set(verdict[:, 1]) == {"exploding"}  # 50^D and 100^D: finite, far above 100x
  assert set(verdict[:, 2]) == {"non-finite"}  # past float32's range
  assert not np.asarray(r.finite)[0, :, 0, :, -1].any()
  r.to_json("/dev/null")  # non-finite statistics serialise as null, not NaN


@pytest.mark.slow
def test_statistics_stay_exact_past_float32_squares():
  # ReLU at sigma_w^2 = 3 multiplies M by 1.5 a layer: by depth 300, M ~ 1e47, whose sum of squares over
  # batch x width overflows float32; tanh at sigma_w^2 = 4 grows the tangent by chi_1 a layer.
  r = jaxinit.sweep({"sw3": vs(3.0), "sw4": vs(4.0)}, ("relu", "tanh"), depths=(300,), widths=(64,), batch=8,
                    seeds=4, engine="dense", key=jax.random.key(9))
  assert np.asarray(r.finite)[0, 0].all() and np.asarray(r.finite)[1, 1].all()
  log_m = seed_mean(r.log_m)[0, 0, 0]
  assert log_m[-1] > math.log(1e45)
  # E log(M_l / M_{l-1}) = log(sigma_w^2 / 2) - 5 / (2N) at width N (Hanin & Nica, Products of Many Large
  # Random Matrices and Gradients in Deep Neural Networks, 2019)
  assert abs((log_m[-1] - log_m[49]) / 250 - (math.log(1.5) - 2.5 / 64)) < 0.01
  grad = seed_mean(r.log_grad)[1, 1, 0]
  chi1 = float(theory.chi1("tanh", 4.0, 0.0))
  assert grad[-1] + math.log(8 * 64) > math.log(1e39)  # its summed squares: past float32's 3.4e38
  # finite width lowers the mean log by about half its variance a layer: ~0.03 at N = 64
  assert -0.05 < (grad[-1] - grad[49]) / 250 - math.log(chi1) < 0.0
