"""jaxinit.trainability: He et al. 2015 at depth 30, a hand-written optax loop, divergence, bad input."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxinit
from jaxinit import training
from jaxinit.training import _program, _train

HE_SCHEMES = {"1/fan_in": jaxinit.variance_scaling(1.0, "fan_in", "normal"),
              "2/fan_in": jaxinit.variance_scaling(2.0, "fan_in", "normal")}


@pytest.fixture(scope="module")
def he2015():
  """30 hidden ReLU layers of width 32, 300 SGD steps at the default rate, 2 seeds (~7 s, mostly compile)."""
  return jaxinit.trainability(HE_SCHEMES, "relu", depths=30, widths=32, steps=300, seeds=2)


@pytest.mark.slow
def test_he2015_depth30_variance_2_trains_and_1_stalls(he2015):
  verdict = he2015.verdict(per_seed=True)[:, 0, 0, 0, 0]  # (scheme, seed)
  assert verdict[0].tolist() == ["stalls", "stalls"]
  assert verdict[1].tolist() == ["trains", "trains"]
  # 1/fan_in: the signal shrinks by 2^-15 and the loss never leaves the constant predictor's
  np.testing.assert_allclose(he2015.train_loss[0], he2015.baseline_loss, rtol=0.02)
  assert np.all(he2015.train_loss[1] < 0.5 * he2015.baseline_loss)
  assert np.all(he2015.diverged_at == -1)


@pytest.mark.slow
def test_schoenholz2017_tanh_trains_deepest_at_the_edge_of_chaos():
  """tanh, sigma_b^2 = 0.05: ordered (1.0), critical (1.76) and chaotic (4.0) sigma_w^2 on a tiny grid."""
  from jaxinit import theory

  sw2 = (1.0, 1.76, 4.0)
  r = jaxinit.trainability(sigma_w2=sw2, activations="tanh", depths=(8, 24, 48), widths=16, steps=150, seeds=1,
                           bias_std=math.sqrt(0.05), key=jax.random.key(1))
  ordered, edge, chaotic = r.trainable_depth()[:, 0, 0, 0]
  assert edge == 48 and edge > ordered and edge > chaotic  # widest at the edge of chaos
  # past the edge, no network trains much beyond 6 xi_c (Schoenholz et al.: about the trainable depth)
  six_xi_c = 6 * float(theory.depth_scales("tanh", 4.0, 0.05).xi_c)
  assert chaotic <= six_xi_c < 48
  assert r.verdict()[:, 0, 0, 0, 0].tolist() == ["trains"] * 3  # every one trains at depth 8


@pytest.mark.slow
def test_result_shapes_and_files(he2015, tmp_path):
  assert he2015.shape == (2, 1, 1, 1, 1, 2)
  assert he2015.curve.shape == (2, 1, 1, 1, 1, 2, 300)
  assert he2015.sigma_w2 == (1.0, 2.0)
  assert np.isnan(he2015.test_accuracy).all()  # regression: no accuracy
  data = json.loads(he2015.to_json(tmp_path / "t.json").read_text())
  assert data["parameters"]["thresholds"] == {"trains_fraction": 0.5, "diverge_factor": 10.0}
  assert len(data["records"]) == 4 and len(data["records"][0]["curve"]) == 300
  lines = he2015.to_csv(tmp_path / "t.csv").read_text().splitlines()
  assert lines[0].startswith("scheme,activation,width,depth,learning_rate,seed") and len(lines) == 5
  png = he2015.plot(tmp_path / "t.png")
  assert png.stat().st_size > 1000
  assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporary files


def _fixed_init(key, shape, dtype=jnp.float32):
  """Deterministic weights (the key is ignored) with variance about 1/fan_in: the same in both trainings."""
  del key
  values = jnp.sin(1.0 + jnp.arange(math.prod(shape), dtype=jnp.float32) * 0.7).reshape(shape)
  return (values * math.sqrt(2.0 / shape[0])).astype(dtype)


def _momentum(rate):
  return optax.sgd(rate, momentum=0.9)


def _reference_training(data, depth: int, width: int, steps: int, rate: float):
  """Plain lists of arrays, one optax transformation, full batch, the same loss: the curve and final loss."""
  shapes = [(data.x_train.shape[1], width)] + [(width, width)] * (depth - 1) + [(width, data.classes)]
  params = [(_fixed_init(None, s), jnp.zeros(s[1], jnp.float32)) for s in shapes]

  def loss_fn(params, x, y):
    h = x
    for w, b in params[:-1]:
      h = jnp.tanh(h @ w + b)
    logits = h @ params[-1][0] + params[-1][1]
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))

  optimizer = _momentum(rate)
  state = optimizer.init(params)
  x, y = jnp.asarray(data.x_train), jnp.asarray(data.y_train)
  curve = []
  for _ in range(steps):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    updates, state = optimizer.update(grads, state, params)
    params = optax.apply_updates(params, updates)
    curve.append(float(loss))
  return np.asarray(curve), float(loss_fn(params, x, y))


@pytest.mark.slow
def test_matches_a_hand_written_optax_loop_beside_a_diverging_rate():
  data = training.mixture(n_train=48, n_test=16, features=5, classes=3)
  depth, width, steps, rate = 3, 8, 25, 0.05
  kwargs = dict(depths=(1, depth), widths=width, data=data, steps=steps, batch=None, seeds=1,
                optimizer=_momentum, learning_rate=(rate, 1e30))
  result = jaxinit.trainability({"fixed": _fixed_init}, "tanh", **kwargs)
  curve, final = _reference_training(data, depth, width, steps, rate)
  np.testing.assert_allclose(result.curve[0, 0, 0, 1, 0, 0], curve, rtol=2e-4)
  np.testing.assert_allclose(result.train_loss[0, 0, 0, 1, 0, 0], final, rtol=2e-4)
  verdict = result.verdict()[0, 0, 0]  # (depth, rate)
  assert verdict[:, 0].tolist() == ["trains", "trains"]
  assert verdict[:, 1].tolist() == ["diverges", "diverges"]  # in the same vmapped program, without poisoning
  assert (result.diverged_at[..., 1, :] >= 0).all() and (result.diverged_at[..., 0, :] == -1).all()
  assert np.isnan(result.curve[..., 1, :, -1]).all()  # nan from the step it diverged on
  n_programs = len(_train._PROGRAMS)
  again = jaxinit.trainability({"fixed": _fixed_init}, "tanh", **kwargs)
  assert len(_train._PROGRAMS) == n_programs
  assert all(p._cache_size() == 1 for p in _train._PROGRAMS.values())  # the repeat reused the trace
  np.testing.assert_array_equal(again.curve, result.curve)


def test_verdict_thresholds_on_known_numbers():
  # three seeds per configuration; baseline 2.0: trains <= 1.0, diverges > 10 x max(initial, baseline)
  train = np.array([[1.0, 1.01, 0.2], [1.5, 30.5, 19.0], [0.1, 0.1, 5.0]], np.float32)
  initial = np.full_like(train, 3.0)
  diverged = np.array([[-1, -1, -1], [-1, -1, 7], [-1, -1, -1]], np.int32)
  shape = (3, 1, 1, 1, 1, 3)
  result = training.TrainabilityResult(
      schemes=("a", "b", "c"), activations=("relu",), widths=(4,), depths=(2,), learning_rates=(0.1,),
      seeds=3,
      steps=1, batch=1, task="regression", data_name="t", baseline_loss=2.0, sigma_w2=(1.0, 2.0, 3.0),
      bias_std=0.0, optimizer="sgd", parametrization="standard", base_width=None,
      curve=np.zeros((*shape, 1), np.float32), initial_loss=initial.reshape(shape),
      train_loss=train.reshape(shape), test_loss=train.reshape(shape),
      train_accuracy=np.full(shape, np.nan), test_accuracy=np.full(shape, np.nan),
      diverged_at=diverged.reshape(shape))
  per_seed = result.verdict(per_seed=True).reshape(3, 3)
  assert per_seed.tolist() == [["trains", "stalls", "trains"], ["stalls", "diverges", "diverges"],
                               ["trains", "trains", "stalls"]]
  assert result.verdict().ravel().tolist() == ["trains", "diverges", "trains"]
  assert result.trainable_depth().ravel().tolist() == [2, 0, 2]


@pytest.fixture
def no_compile(monkeypatch):
  def fail(*args, **kwargs):
    raise AssertionError("compiled before rejecting bad input")
  monkeypatch.setattr(_program, "build", fail)


BAD = [
    (dict(steps=0), "steps=0"),
    (dict(steps=2.5), "steps=2.5"),
    (dict(seeds=0), "seeds=0"),
    (dict(optimizer=object()), "optimizer=<object"),
    (dict(optimizer="lbfgs-ish"), "optimizer='lbfgs-ish'"),
    (dict(optimizer=lambda rate: 3), "not an optax GradientTransformation"),
    (dict(optimizer=optax.sgd(0.1), learning_rate=0.1), "learning_rate=0.1"),
    (dict(learning_rate=-1.0), "learning_rate=-1.0"),
    (dict(learning_rate=float("nan")), "learning_rate=nan"),
    (dict(depths=()), "depths=()"),
    (dict(widths=(0,)), "widths=(0,)"),
    (dict(batch=10_000), "batch=10000"),
    (dict(bias_std=-0.1), "bias_std=-0.1"),
    (dict(schemes=["no_such_scheme"]), "no_such_scheme"),
    (dict(activations="no_such_act"), "no_such_act"),
    (dict(sigma_w2=(1.0, -2.0)), "sigma_w2="),
    (dict(parametrization="mup", base_width=64), "base_width=64"),
    (dict(parametrization="mup", base_width=4, optimizer="momentum"), "optimizer='momentum'"),
    (dict(parametrization="wide"), "parametrization='wide'"),
    (dict(data="mnist"), "data='mnist'"),
    (dict(data=(np.ones((4, 3)), np.ones(5))), "y_train has shape (5,)"),
    (dict(data=(np.ones((4, 3)), np.ones(4), np.ones((2, 2)), np.ones(2))), "x_test has 2 features"),
    (dict(data=(np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones(2))),
     "non-finite value(s), first nan at [0, 1]"),
    (dict(data=(np.ones((3, 2)), np.array([0, -1, 1]))), "label -1 out of range"),
    (dict(data=training.Dataset(np.ones((3, 2), np.float32), np.array([0, 1, 3]), np.ones((1, 2), np.float32),
                                np.array([0]), classes=3)), "label 3 out of range [0, 3)"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input_fails_before_compiling(no_compile, kwargs, message):
  args = dict(schemes="he_normal", activations="relu", depths=2, widths=8, steps=5)
  args.update(kwargs)
  with pytest.raises(ValueError) as info:
    jaxinit.trainability(**args)
  assert message in str(info.value)
  assert str(info.value).startswith("trainability:")


def test_builtin_tasks():
  teacher = training.teacher(n_train=2000, n_test=10, features=8, seed=3)
  assert abs(float(teacher.y_train.mean())) < 1e-5 and abs(float(teacher.y_train.std()) - 1.0) < 1e-5
  assert teacher.x_train.dtype == np.float32 and teacher.outputs == 1
  mix = training.mixture(n_train=400, n_test=100, features=6, classes=5, seed=1)
  assert mix.y_train.min() >= 0 and mix.y_train.max() == 4 and mix.outputs == 5
  np.testing.assert_allclose(mix.x_train.mean(axis=0), 0.0, atol=1e-5)
  assert _train.baseline_loss(mix) == pytest.approx(
      -sum(p * math.log(p) for p in np.bincount(mix.y_train) / 400))
  with pytest.raises(ValueError, match="classes=1"):
    training.mixture(classes=1)
  try:
    import sklearn  # noqa: F401
  except ImportError:
    with pytest.raises(ImportError, match="scikit-learn"):
      training.digits()
  else:
    digits = training.digits()
    assert digits.classes == 10 and digits.x_train.shape[1] == 64


def test_user_arrays_resolve_to_a_task():
  x = np.random.default_rng(0).standard_normal((10, 3))
  classify = training._data.resolve((x, np.arange(10) % 3))
  assert classify.task == "classification" and classify.classes == 3 and classify.y_train.dtype == np.int32
  regress = training._data.resolve((x, x[:, 0], x[:4], x[:4, 0]))
  assert regress.task == "regression" and regress.y_train.shape == (10, 1) and regress.x_test.shape == (4, 3)
