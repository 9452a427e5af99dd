"""jaxinit.recommend: the answer, its evidence against closed forms, the simulation's word, bad input."""

import argparse
import json
import math

import pytest
from rich.console import Console

import jaxinit
from jaxinit.cli import _recommend


@pytest.fixture(scope="module")
def theory_only():
  return {a: jaxinit.recommend(a, depth=100, simulate=False) for a in ("relu", "tanh", "gelu")}


@pytest.mark.slow
def test_relu_gets_he_and_lecun_halves_the_signal_every_layer(theory_only):
  rec = theory_only["relu"]
  assert rec.choice.label == "he_normal" and rec.choice.sigma_w2 == 2.0 and rec.residual is None
  lecun = next(c for c in rec.candidates if c.label == "lecun_normal")
  # q^{l+1} = sigma_w^2 q^l / 2 for ReLU: M_D / M_0 = 2^-D at sigma_w^2 = 1, exactly 1 at 2 (He et al. 2015)
  assert lecun.forward_log10 == pytest.approx(-100 * math.log10(2), rel=1e-9)
  assert rec.choice.forward_log10 == pytest.approx(0.0, abs=1e-9)
  # 1 - c^l ~ 9 pi^2 / (2 l^2) for ReLU at He init (Hanin 2018 / the arc-cosine kernel)
  assert 1 - rec.choice.corr == pytest.approx(9 * math.pi ** 2 / (2 * 100 ** 2), rel=0.25)
  assert rec.kernel_init is not None and rec.bias_init is jaxinit.zeros


@pytest.mark.slow
def test_tanh_gets_the_edge_of_chaos(theory_only):
  rec = theory_only["tanh"]
  # the critical sigma_w^2 of tanh at sigma_b^2 = 0.05 (Schoenholz et al. 2017, Figure 1)
  assert rec.choice.label == "edge_of_chaos:tanh,0.05"
  assert rec.choice.sigma_w2 == pytest.approx(1.761, abs=1e-3) and rec.choice.sigma_b2 == 0.05
  assert rec.choice.chi1 == pytest.approx(1.0, abs=1e-9)
  he = next(c for c in rec.candidates if c.label == "he_normal")
  assert he.theory_verdict == "exploding" and he.chi1 > 1  # chaotic: gradients grow as chi_1^D


@pytest.mark.slow
def test_gelu_has_no_plain_mlp_scheme_and_says_so(theory_only):
  rec = theory_only["gelu"]
  assert rec.choice is None and rec.kernel_init is None
  assert {c.theory_verdict for c in rec.candidates} <= {"exploding", "vanishing", "collapsed"}
  assert rec.residual.theory_verdict == "stable"
  assert "residual" in rec.reasons[-2] and "1/sqrt(depth)" in rec.reasons[-2]
  assert "no plain-MLP scheme" in rec.summary()
  json.dumps(rec.to_dict(), allow_nan=False)
  # the exact gain's q diverges: no trainable depth is claimed for it (6 xi_c was printed as "inf")
  gain = next(c for c in rec.candidates if c.label == "for_activation:gelu")
  assert gain.q_star == float("inf")
  row = next(line for line in rec.summary().splitlines() if line.startswith("for_activation:gelu "))
  assert row.split()[4] == "-" and "inf" not in row.split()[4]
  assert any(r.startswith("for_activation:gelu:") and "q diverges, so no depth scale applies" in r
             for r in rec.reasons)


@pytest.mark.slow
@pytest.mark.parametrize("activation, label", [("relu", "he_normal"), ("tanh", "edge_of_chaos:tanh,0.05"),
                                               ("gelu", None)])
def test_the_sweep_confirms_the_answer_at_depth_100(activation, label):
  rec = jaxinit.recommend(activation, depth=100)
  if label is None:
    assert rec.choice is None
    assert all(c.simulated_verdict != "stable" for c in rec.candidates)
    assert rec.residual.simulated_verdict == "stable" and rec.residual.stable_depth == 100
  else:
    assert rec.choice.label == label
    assert rec.choice.simulated_verdict == "stable" and rec.choice.stable_depth == 100


@pytest.mark.parametrize("kwargs, message", [
    (dict(activation="swish9", depth=3), "activation='swish9'"),
    (dict(activation=abs, depth=3), "must be a name"),
    (dict(activation="relu", depth=0), "depth=0"),
    (dict(activation="relu", depth=3, width=1), "width=1"),
    (dict(activation="relu", depth=3, batch=5), "batch=5"),
    (dict(activation="relu", depth=3, sigma_b2=-1.0), "sigma_b2=-1.0"),
    (dict(activation="relu", depth=3, architecture="cnn"), "architecture='cnn'"),
])
def test_bad_input_names_the_argument(kwargs, message):
  activation = kwargs.pop("activation")
  with pytest.raises(ValueError, match=message.replace("(", r"\(")):
    jaxinit.recommend(activation, simulate=False, **kwargs)


def _run_cli(argv, capsys):
  parser = argparse.ArgumentParser()
  _recommend.add_arguments(parser)
  code = _recommend.run(parser.parse_args(argv), Console(width=200))
  return code, capsys.readouterr().out


@pytest.mark.slow
def test_cli_prints_the_answer_and_json(capsys):
  code, out = _run_cli(["--activation", "relu", "--depth", "30", "--no-simulate"], capsys)
  assert code == 0 and "use he_normal" in out
  code, out = _run_cli(["--activation", "tanh", "--depth", "30", "--no-simulate", "--format", "json"], capsys)
  doc = json.loads(out)
  assert code == 0 and doc["choice"]["label"] == "edge_of_chaos:tanh,0.05"
  with pytest.raises(ValueError, match="--depth='x'"):
    _run_cli(["--activation", "relu", "--depth", "x"], capsys)
  with pytest.raises(ValueError, match="--depth=0"):
    _run_cli(["--activation", "relu", "--depth", "0", "--no-simulate"], capsys)


@pytest.mark.slow
def test_the_answer_is_a_scheme_name_the_sweep_accepts(theory_only):
  from jaxinit.initializers import _catalog

  for rec in theory_only.values():
    for c in rec.candidates:
      init = _catalog.lookup(c.label)
      assert jaxinit.describe(init).spec.variance((100, 100)) * 100 == pytest.approx(c.sigma_w2, rel=1e-9)
