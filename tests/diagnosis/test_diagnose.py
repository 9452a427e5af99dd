"""jaxinit.diagnose: rows in execution order with the layer's own fans, numbers checked against numpy, warnings."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxinit
from jaxinit.diagnosis import _engine


def _codes(diagnosis):
  return sorted({w.code for w in diagnosis.warnings})


@pytest.fixture(scope="module")
def he_mlp(models):
  return models.mlp(3, 64, models.he, seed=1)


@pytest.mark.slow
def test_nnx_mlp_rows_numbers_against_numpy(he_mlp, batch, capsys):
  d = jaxinit.diagnose(he_mlp, batch)
  assert [r.path for r in d.rows] == ["layers/0", "layers/2", "layers/4", "layers/6"]
  assert [(r.fan_in, r.fan_out) for r in d.rows] == [(16, 64), (64, 64), (64, 64), (64, 4)]
  assert [r.activation_out for r in d.rows] == ["relu", "relu", "relu", None]
  assert [r.activation_in for r in d.rows] == [None, "relu", "relu", "relu"]
  assert d.rows[1].scheme == "he_normal" and abs(d.rows[1].scheme_ratio - 1) < 0.05
  # independent forward and backward in numpy
  x = np.asarray(batch, np.float64)
  ws = [np.asarray(he_mlp.layers[i].kernel[...], np.float64) for i in (0, 2, 4, 6)]
  hs = []
  for i, w in enumerate(ws):
    h = x @ w
    hs.append(h)
    x = np.maximum(h, 0) if i < 3 else h
  np.testing.assert_allclose([r.out_std for r in d.rows], [h.std() for h in hs], rtol=1e-4)
  np.testing.assert_allclose(d.rows[-1].grad_out_std, hs[-1].std(), rtol=1e-4)  # d(0.5 y^2)/dy = y
  grad_w_last = np.maximum(hs[2], 0).T @ hs[3]
  np.testing.assert_allclose(d.rows[-1].grad_kernel_std, grad_w_last.std(), rtol=1e-4)
  np.testing.assert_allclose(d.rows[0].weight_std, ws[0].std(), rtol=1e-4)
  assert d.rows[0].dead_fraction == np.mean(np.all(hs[0] <= 0, axis=0))
  assert d.ok and d.warnings == ()
  assert capsys.readouterr().out == ""


def test_model_untouched_and_classes_restored(he_mlp, batch):
  before = jax.tree.map(np.asarray, nnx.state(he_mlp))
  calls = nnx.Linear.__call__, nnx.Sequential.__call__
  jaxinit.diagnose(he_mlp, batch)
  assert (nnx.Linear.__call__, nnx.Sequential.__call__) == calls
  jax.tree.map(np.testing.assert_array_equal, before, jax.tree.map(np.asarray, nnx.state(he_mlp)))


def test_second_diagnosis_reuses_compilation(he_mlp, batch):
  jaxinit.diagnose(he_mlp, batch)
  size = _engine._run_jit._cache_size()
  jaxinit.diagnose(he_mlp, batch + 1.0)
  assert _engine._run_jit._cache_size() == size


def test_summary_json(he_mlp, batch):
  d = jaxinit.diagnose(he_mlp, batch)
  text = d.summary()
  assert "layers/6" in text and "he_normal" in text and "no warnings" in text
  data = json.loads(d.to_json())
  assert [r["path"] for r in data["rows"]] == [r.path for r in d.rows] and data["warnings"] == []


@pytest.mark.slow
def test_linen_mlp(models, batch):
  module = models.LinenMLP()
  variables = module.init(jax.random.key(2), batch)
  d = jaxinit.diagnose(module, variables, batch)
  assert d.framework == "linen"
  assert [(r.path, r.kind, r.fan_in, r.fan_out) for r in d.rows] == [
      ("Dense_0", "Dense", 16, 32), ("Dense_1", "Dense", 32, 32), ("Dense_2", "Dense", 32, 4)]
  h = np.asarray(batch) @ np.asarray(variables["params"]["Dense_0"]["kernel"])
  np.testing.assert_allclose(d.rows[0].out_std, h.std(), rtol=1e-4)
  assert d.ok


@pytest.mark.slow
def test_cnn_fans_per_kind(models):
  x = jax.random.normal(jax.random.key(3), (8, 8, 8, 3))
  d = jaxinit.diagnose(models.CNN(nnx.Rngs(0)), x)
  assert [(r.path, r.kind, r.kernel_shape, r.fan_in, r.fan_out) for r in d.rows] == [
      ("conv1", "Conv", (3, 3, 3, 8), 27, 72), ("conv2", "Conv", (3, 3, 8, 16), 72, 144),
      ("up", "ConvTranspose", (2, 2, 16, 8), 16, 8), ("head", "Linear", (8, 10), 8, 10)]
  assert d.rows[0].activation_out == "relu" and "stride" in d.rows[2].fans_note
  # He drawn over the whole 2 x 2 window, but a stride-2 transposed conv gives each output one tap
  (warning,) = [w for w in d.warnings if w.code == "fan_layout"]
  assert warning.path == "up" and "fan_in=64" in warning.message and "fan_in=16" in warning.message
  assert warning.fix == "kernel_init=jaxinit.variance_scaling(8, 'fan_in', 'truncated_normal')"


@pytest.mark.slow
def test_gemma_qkv_einsum_flagged_with_inferred_fans(models):
  x = jax.random.normal(jax.random.key(4), (4, 8, 64))
  d = jaxinit.diagnose(models.GemmaAttention(nnx.Rngs(0)), x)
  row = d.row("qkv_einsum")
  assert (row.kind, row.kernel_shape, row.fan_in, row.fan_out) == ("Einsum", (3, 4, 64, 16), 64, 192)
  assert abs(row.weight_std - 1 / math.sqrt(12 * 64)) < 0.002  # flax's lecun_normal: fan_in = 3 x 4 x 64
  (warning,) = [w for w in d.warnings if w.code == "fan_layout"]
  assert warning.path == "qkv_einsum"
  assert "fan_in=768" in warning.message and "fan_in=64" in warning.message and "ratio 0.2" in warning.message
  assert "einsum_init('BTD,SNDH->SBTNH'" in warning.fix
  assert d.row("attn_vec_einsum").fan_in == 64  # contracted N and H
  fixed = models.GemmaAttention(nnx.Rngs(0), kernel_init=jaxinit.einsum_init("BTD,SNDH->SBTNH"),
                                out_init=jaxinit.einsum_init("BTNH,NHD->BTD"))
  d2 = jaxinit.diagnose(fixed, x)
  assert "fan_layout" not in _codes(d2) and d2.row("qkv_einsum").scheme == "lecun_normal"
  assert abs(d2.row("qkv_einsum").weight_std - 0.125) < 0.005


@pytest.mark.slow
def test_transformer_block_kinds_tuple_output_and_kwargs(models, tokens):
  mask = nnx.make_causal_mask(tokens)
  d = jaxinit.diagnose(models.TransformerBlock(nnx.Rngs(0)), tokens, mask=mask)
  kinds = [(r.path, r.kind) for r in d.rows]
  assert kinds == [("embed", "Embed"), ("ln1", "LayerNorm"), ("attn/query", "LinearGeneral"),
                   ("attn/key", "LinearGeneral"), ("attn/value", "LinearGeneral"), ("attn/out", "LinearGeneral"),
                   ("ln2", "LayerNorm"), ("fc1", "Linear"), ("fc2", "Linear"), ("out", "Linear")]
  assert (d.row("embed").fan_in, d.row("embed").fan_out) == (50, 32)
  assert (d.row("attn/query").fan_in, d.row("attn/query").fan_out) == (32, 32)
  assert d.row("attn/out").kernel_shape == (4, 8, 32) and d.row("attn/out").fan_in == 32
  assert d.row("fc1").activation_out == "gelu" and d.row("ln1").fan_in is None
  assert d.row("embed").scheme == "flax default_embed_init"


# --------------------------------------------------------------------------- warnings, provoked and absent

@pytest.fixture(scope="module")
def deep_batch():
  return jax.random.normal(jax.random.key(5), (64, 16))


@pytest.mark.slow
def test_depth30_lecun_relu_drifts_and_he_does_not(models, deep_batch):
  lecun = jaxinit.diagnose(models.mlp(30, 32, models.lecun), deep_batch)
  assert {"forward_drift", "gradient_drift"} <= set(_codes(lecun))
  (forward,) = [w for w in lecun.warnings if w.code == "forward_drift"]
  assert "at layers/0" in forward.message and "for_activation('relu')" in forward.fix
  assert forward.path in ("layers/56", "layers/58", "layers/60")
  he = jaxinit.diagnose(models.mlp(30, 32, models.he), deep_batch)
  assert he.warnings == ()


@pytest.mark.slow
def test_selu_lecun_is_healthy(models, batch):
  assert jaxinit.diagnose(models.mlp(4, 32, models.lecun, activation=nnx.selu), batch).ok


@pytest.mark.parametrize("init, code", [(nnx.initializers.zeros, "zero_variance"),
                                        (nnx.initializers.constant(0.1), "identical_units")])
@pytest.mark.slow
def test_symmetric_inits(models, batch, init, code):
  d = jaxinit.diagnose(models.mlp(2, 32, init), batch)
  assert code in _codes(d)
  assert {w.path for w in d.warnings if w.code == code} >= {"layers/0", "layers/2"}


def test_huge_init_kernel_std(models, batch):
  d = jaxinit.diagnose(models.mlp(2, 32, models.np_normal(2.0)), batch)
  (warning,) = [w for w in d.warnings if w.code == "kernel_std" and w.path == "layers/2"]
  assert "gain('relu') / sqrt(fan_in=32)" in warning.message and "for_activation('relu')" in warning.fix


def test_dead_relus(models, batch):
  d = jaxinit.diagnose(models.mlp(2, 32, models.he, bias_init=nnx.initializers.constant(-20.0)), batch)
  assert "dead_units" in _codes(d)
  assert d.row("layers/0").dead_fraction == 1.0


def test_non_finite(models, batch):
  model = models.mlp(2, 32, models.he)
  model.layers[2].kernel[...] = model.layers[2].kernel[...].at[0, 0].set(jnp.inf)
  d = jaxinit.diagnose(model, batch)
  (warning,) = [w for w in d.warnings if w.code == "non_finite"]
  assert warning.path == "layers/2" and "kernel, output" in warning.message


@pytest.mark.slow
def test_residual_growth_unscaled_and_scaled(models):
  x = jax.random.normal(jax.random.key(6), (32, 16))
  unscaled = jaxinit.diagnose(models.ResidualStack(16, 6, nnx.Rngs(0)), x)
  assert "residual_growth" in _codes(unscaled)
  scaled = jaxinit.diagnose(models.ResidualStack(16, 6, nnx.Rngs(0), scale=6 ** -0.5), x)
  assert "residual_growth" not in _codes(scaled)


# --------------------------------------------------------------------------- bad input

def test_bad_input(models, batch):
  with pytest.raises(ValueError, match="no parameters"):
    jaxinit.diagnose(nnx.Sequential(lambda x: x), batch)
  with pytest.raises(ValueError, match=r"layer 'layers/0' \(Linear\) rejected its input of shape \(64, 5\)"):
    jaxinit.diagnose(models.mlp(1, 8, models.he), batch[:, :5])
  with pytest.raises(ValueError, match="non-finite"):
    jaxinit.diagnose(models.mlp(1, 8, models.he), batch.at[0, 0].set(jnp.nan))
  with pytest.raises(ValueError, match="flax.nnx.Module or a flax.linen.Module"):
    jaxinit.diagnose(lambda x: x, batch)
  with pytest.raises(ValueError, match="needs its variables"):
    jaxinit.diagnose(models.LinenMLP(), batch)


class _Custom(nnx.Module):
  def __init__(self, rngs):
    self.w = nnx.Param(jax.random.normal(rngs.params(), (4, 16, 8)) * 0.1)

  def __call__(self, x):
    return jnp.einsum("bi,kio->bo", x, self.w)


def _as_dict(model, x):
  return {"aux": jnp.int32(0), "y": model(x)}


def _mean_square(out):
  return jnp.mean(jnp.square(out["y"]))


def test_unknown_layout_says_so_and_call_loss(batch):
  model = _Custom(nnx.Rngs(0))
  d = jaxinit.diagnose(model, batch, call=_as_dict, loss=_mean_square)
  (row,) = d.rows
  assert row.fan_in is None and "fans unknown" in row.fans_note and row.scheme == "unknown"
  y = np.einsum("bi,kio->bo", np.asarray(batch), np.asarray(model.w[...]))
  np.testing.assert_allclose(d.loss, np.mean(y ** 2), rtol=1e-4)
  np.testing.assert_allclose(row.grad_out_std, (2 * y / y.size).std(), rtol=1e-4)


def test_plot_marks_warned_layers(models, batch, tmp_path):
  d = jaxinit.diagnose(models.mlp(2, 32, nnx.initializers.zeros), batch)
  path = d.plot(tmp_path / "zeros.png")
  assert path == tmp_path / "zeros.png" and path.stat().st_size > 0 and list(tmp_path.iterdir()) == [path]
