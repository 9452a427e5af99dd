"""jaxinit.mup: initializers, roles inferred from nnx and linen models, optax factors, coord check."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxinit
from jaxinit import mup

BASE = 32
WIDTHS = (32, 128, 512)


class MLP(nnx.Module):
  """8 -> width -> width -> 1, tanh; muP initializers or LeCun's everywhere."""

  def __init__(self, width: int, parametrization: str = "mup"):
    rngs = nnx.Rngs(0)
    if parametrization == "mup":
      inits = mup.input_init(), mup.hidden_init(), mup.output_init(BASE)
    else:
      inits = (jaxinit.lecun_normal(),) * 3
    self.inp = nnx.Linear(8, width, kernel_init=inits[0], rngs=rngs)
    self.hid = nnx.Linear(width, width, kernel_init=inits[1], rngs=rngs)
    self.out = nnx.Linear(width, 1, kernel_init=inits[2], rngs=rngs)

  def __call__(self, x):
    return self.out(jnp.tanh(self.hid(jnp.tanh(self.inp(x)))))


@pytest.fixture(scope="module")
def coords():
  rng = np.random.default_rng(0)
  data = rng.standard_normal((32, 8)).astype(np.float32), rng.standard_normal((32, 1)).astype(np.float32)
  return mup.coord_check(MLP, WIDTHS, steps=3, base_width=BASE, data=data, learning_rate=0.1)


@pytest.mark.slow
def test_coord_check_flat_under_mup_growing_under_standard(coords, tmp_path):
  assert coords.layers == ("hid", "inp", "out", "")
  for step in (1, 2):  # after one and two updates
    slopes = coords.slopes(step)
    assert all(abs(s) < 0.15 for s in slopes["mup"].values()), slopes["mup"]
    assert abs(slopes["standard"]["inp"]) < 0.15 and abs(slopes["standard"]["hid"]) < 0.15
  assert coords.slopes(2)["standard"]["out"] > 0.6  # the readout grows with width: ~ width^1 in theory
  assert coords.plot(tmp_path / "coord.png").stat().st_size > 1000


@pytest.mark.slow
def test_infer_roles_of_an_nnx_model_against_its_abstract_base():
  roles = mup.infer_roles(MLP(128), nnx.eval_shape(lambda: MLP(BASE)))
  expected = {"inp/kernel": ("input", 1.0, 4.0), "inp/bias": ("input", 1.0, 4.0),
              "hid/kernel": ("hidden", 4.0, 4.0), "hid/bias": ("input", 1.0, 4.0),
              "out/kernel": ("output", 4.0, 1.0), "out/bias": ("fixed", 1.0, 1.0)}
  assert {k: tuple(v) for k, v in roles.entries.items()} == expected
  labels = roles(nnx.state(MLP(128), nnx.Param))
  assert labels["out"]["kernel"] == "output" and labels["hid"]["bias"] == "input"
  over = mup.infer_roles(MLP(128), MLP(BASE), overrides={"*/bias": "fixed"})
  assert over["hid/bias"].role == "fixed" and over["hid/kernel"].role == "hidden"
  with pytest.raises(ValueError, match="base model's 128"):
    mup.infer_roles(MLP(BASE), MLP(128))
  with pytest.raises(ValueError, match="matches no parameter"):
    mup.infer_roles(MLP(128), MLP(BASE), overrides={"nothing/*": "hidden"})
  with pytest.raises(ValueError, match="role='wide'"):
    mup.infer_roles(MLP(128), MLP(BASE), overrides={"out/*": "wide"})


class LinenMLP(nn.Module):
  width: int

  @nn.compact
  def __call__(self, x):
    return nn.Dense(3)(nn.relu(nn.Dense(self.width)(nn.relu(nn.Dense(self.width)(x)))))


def test_infer_roles_of_linen_variables():
  shapes = lambda n: jax.eval_shape(LinenMLP(n).init, jax.random.key(0), jnp.zeros((1, 5)))  # noqa: E731
  roles = mup.infer_roles(shapes(256), shapes(64))
  # linen names submodules in construction order: the readout Dense(3) is built first
  assert [roles[f"Dense_{i}/kernel"].role for i in range(3)] == ["output", "hidden", "input"]
  assert roles["Dense_0/bias"].role == "fixed" and roles["Dense_1/kernel"].fan_in_mult == 4.0


def test_scale_by_width_factors_follow_table_3():
  params = {"i": jnp.ones((3, 8)), "h": jnp.ones((8, 8)), "o": jnp.ones((8, 2)), "f": jnp.ones(())}
  roles = {"i": "input", "h": "hidden", "o": "output", "f": "fixed"}
  m = 4.0
  # Yang et al. 2022, Table 3 (rates relative to the base width's): SGD input m, hidden 1, output 1/m;
  # Adam input 1, hidden 1/m, output 1/m
  for kind, expected in (("sgd", {"i": m, "h": 1.0, "o": 1 / m, "f": 1.0}),
                         ("adam", {"i": 1.0, "h": 1 / m, "o": 1 / m, "f": 1.0})):
    tx = mup.scale_by_width(roles, m, optimizer=kind)
    updates, _ = tx.update(params, tx.init(params))
    assert {k: float(v.ravel()[0]) for k, v in updates.items()} == expected
  with pytest.raises(ValueError, match="width_mult=0.5"):
    mup.scale_by_width(roles, 0.5)
  with pytest.raises(ValueError, match="role='readout'"):
    mup.scale_by_width({"w": "readout"}, 2.0)
  with pytest.raises(ValueError, match="optimizer='rmsprop'"):
    mup.scale_by_width(roles, 2.0, optimizer="rmsprop")
  with pytest.raises(ValueError, match="width_mult is required"):
    mup.sgd(0.1, roles)


@pytest.mark.slow
def test_mup_optimizer_trains_an_nnx_model_with_inferred_roles():
  model = MLP(64)
  roles = mup.infer_roles(model, nnx.eval_shape(lambda: MLP(BASE)))
  x, y = jnp.ones((4, 8)), jnp.zeros((4, 1))
  before = {k: np.asarray(v) for k, v in nnx.to_flat_state(nnx.state(model, nnx.Param))}
  with jax.numpy_dtype_promotion("standard"):  # optax.adam's bias correction mixes int and float
    opt = nnx.Optimizer(model, mup.adam(1e-2, roles), wrt=nnx.Param)
    grads = nnx.grad(lambda m: jnp.mean(jnp.square(m(x) - y)))(model)
    opt.update(model, grads)
  after = dict(nnx.to_flat_state(nnx.state(model, nnx.Param)))
  # Adam's first step moves each entry by lr x factor (sign of the gradient): hidden and readout lr / 2
  step = {k: np.max(np.abs(np.asarray(after[k]) - before[k])) for k in before}
  assert step[("hid", "kernel")] == pytest.approx(0.005, rel=1e-3)
  assert step[("out", "kernel")] == pytest.approx(0.005, rel=1e-3)
  assert step[("inp", "kernel")] == pytest.approx(0.01, rel=1e-3)


def test_output_init_variance_and_errors():
  w = mup.output_init(base_fan_in=64, scale=2.0)(jax.random.key(1), (1024, 256))
  # Var = scale base / fan_in^2; the sample variance of 262144 normals is within ~0.3% (1 sigma)
  assert float(jnp.var(w)) == pytest.approx(2.0 * 64 / 1024**2, rel=0.02)
  with pytest.raises(ValueError, match="base_fan_in=64 is larger than the kernel's fan_in 32"):
    mup.output_init(64)(jax.random.key(0), (32, 10))
  with pytest.raises(ValueError, match="base_fan_in=0"):
    mup.output_init(0)
  with pytest.raises(ValueError, match="scale=-1"):
    mup.hidden_init(-1.0)
  with pytest.raises(ValueError, match="distribution='cauchy'"):
    mup.input_init(distribution="cauchy")
  hidden = mup.hidden_init()(jax.random.key(2), (512, 512))
  assert float(jnp.var(hidden)) * 512 == pytest.approx(1.0, rel=0.02)


def test_coord_check_rejects_bad_input_before_building():
  def never(width, parametrization):
    raise AssertionError("built a model")
  data = (np.ones((2, 8), np.float32), np.ones((2, 1), np.float32))
  for kwargs, message in ((dict(base_width=64), "base_width=64"), (dict(steps=0), "steps=0"),
                          (dict(optimizer="lion"), "optimizer='lion'"),
                          (dict(learning_rate=math.inf), "inf")):
    args = dict(base_width=BASE, data=data)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
      mup.coord_check(never, WIDTHS, **args)


@pytest.mark.slow
def test_trainability_mup_equals_standard_at_the_base_width():
  kwargs = dict(depths=2, widths=8, steps=10, seeds=1, batch=16, learning_rate=0.05,
                data=jaxinit.training.teacher(n_train=32, n_test=8, features=4))
  standard = jaxinit.trainability("lecun_normal", "tanh", **kwargs)
  scaled = jaxinit.trainability("lecun_normal", "tanh", parametrization="mup", base_width=8, **kwargs)
  np.testing.assert_allclose(scaled.curve, standard.curve, rtol=1e-6)
  assert scaled.parametrization == "mup" and scaled.base_width == 8
