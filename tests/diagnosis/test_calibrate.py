"""jaxinit.calibrate (LSUV): targets reached (checked by a plain forward pass), copies, linen, failures."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxinit


def _hidden_variances(model, x):
  """Each Linear's output variance, by walking the Sequential by hand."""
  out = []
  for layer in model.layers:
    x = layer(x)
    if isinstance(layer, nnx.Linear):
      out.append(float(jnp.var(x)))
  return np.array(out)


@pytest.mark.slow
def test_depth30_lecun_relu_every_layer_within_10_percent(models):
  x = jax.random.normal(jax.random.key(7), (64, 16))
  model = models.mlp(30, 32, models.lecun)
  before = jax.tree.map(np.asarray, nnx.state(model))
  assert _hidden_variances(model, x)[-1] < 1e-6  # LeCun + ReLU halves the variance per layer
  calibrated, log = jaxinit.calibrate(model, x)
  variances = _hidden_variances(calibrated, x)
  assert len(log) == 31 and all(step.converged for step in log)
  np.testing.assert_allclose(variances, 1.0, rtol=0.1)
  np.testing.assert_allclose([s.variance_after for s in log], variances, rtol=1e-4)
  # the caller's model is untouched; the scales are the kernel ratios
  jax.tree.map(np.testing.assert_array_equal, before, jax.tree.map(np.asarray, nnx.state(model)))
  ratio = calibrated.layers[2].kernel[...] / model.layers[2].kernel[...]
  np.testing.assert_allclose(ratio, log[1].scale, rtol=1e-5)


@pytest.mark.slow
def test_transformer_block_has_no_warning_after_calibration(models, tokens):
  model = models.TransformerBlock(nnx.Rngs(0))
  calibrated, log = jaxinit.calibrate(model, tokens)
  assert [s.path for s in log][:2] == ["embed", "attn/query"] and all(s.converged for s in log)
  d = jaxinit.diagnose(calibrated, tokens)
  assert d.warnings == (), d.summary()
  assert all(abs(r.out_std ** 2 / 1.0 - 1) < 0.1 for r in d.rows if r.kind != "LayerNorm")


def test_inplace_and_failure_leaves_model_unchanged(models, batch):
  model = models.mlp(2, 16, models.he)
  model.layers[2].kernel[...] = jnp.zeros((16, 16))
  before = jax.tree.map(np.asarray, nnx.state(model))
  with pytest.raises(ValueError, match=r"layer 'layers/2' \(Linear\) has output variance 0"):
    jaxinit.calibrate(model, batch, inplace=True)
  jax.tree.map(np.testing.assert_array_equal, before, jax.tree.map(np.asarray, nnx.state(model)))
  healthy = models.mlp(2, 16, models.he, seed=3)
  result = jaxinit.calibrate(healthy, batch, inplace=True)
  assert result.model is healthy and result.converged
  np.testing.assert_allclose(_hidden_variances(healthy, batch), 1.0, rtol=0.1)


def test_orthogonal_reinit(models, batch):
  model = models.mlp(2, 16, models.he)
  calibrated, log = jaxinit.calibrate(model, batch, orthogonal=True, key=jax.random.key(3))
  kernel = np.asarray(calibrated.layers[2].kernel[...], np.float64) / log[1].scale
  np.testing.assert_allclose(kernel.T @ kernel, np.eye(16), atol=1e-5)


@pytest.mark.slow
def test_linen_returns_new_variables(models, batch):
  module = models.LinenMLP()
  variables = module.init(jax.random.key(2), batch)
  kernel = np.asarray(variables["params"]["Dense_0"]["kernel"])
  new, log = jaxinit.calibrate(module, variables, batch, target=2.0)
  np.testing.assert_array_equal(variables["params"]["Dense_0"]["kernel"], kernel)
  h = np.asarray(batch) @ np.asarray(new["params"]["Dense_0"]["kernel"]) + np.asarray(new["params"]["Dense_0"]["bias"])
  assert abs(h.var() / 2.0 - 1) < 0.05 and [s.path for s in log] == ["Dense_0", "Dense_1", "Dense_2"]
  with pytest.raises(ValueError, match="inplace=True is for nnx"):
    jaxinit.calibrate(module, variables, batch, inplace=True)


@pytest.mark.parametrize("option", [dict(target=0.0), dict(tol=float("nan")), dict(max_iters=0)])
def test_bad_options(models, batch, option):
  with pytest.raises(ValueError, match=next(iter(option))):
    jaxinit.calibrate(models.mlp(1, 8, models.he), batch, **option)
