"""What a sweep costs before it compiles: the memory model against XLA's own analysis, seeds split to fit
a memory limit (with the same numbers), and estimates that compile nothing."""

import re

import jax
import numpy as np
import pytest

import jaxinit
from jaxinit.sweep import SweepConfig, SweepConfigError, _budget, _programs, _sweep, estimate

CASES = [  # dense families, an orthogonal QR, the sampled engine, many layers
    dict(schemes=("he_normal", "glorot_normal", "torch_default_kernel"), activations=("relu", "tanh"),
         depths=(16,), widths=(256,), batch=32, seeds=3, engine="dense"),
    dict(schemes=("orthogonal",), activations=("tanh",), depths=(8,), widths=(128,), batch=16, seeds=2,
         engine="dense"),
    dict(schemes=("variance_scaling:2,fan_in,normal", "orthogonal"), activations=("relu",), depths=(8,),
         widths=(256,), batch=8, seeds=2, engine="gaussian"),
    dict(schemes=("lecun_normal",), activations=("relu", "tanh", "gelu"), depths=(300,), widths=(32,), batch=64,
         seeds=2),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", range(len(CASES)))
def test_the_memory_model_bounds_xlas_analysis_within_about_2x(case):
  the_plan = _sweep.plan(SweepConfig(**CASES[case]))
  compiled = _programs.lower(the_plan, 0).compile()
  analysis = compiled.memory_analysis()
  actual = analysis.temp_size_in_bytes + analysis.output_size_in_bytes + analysis.argument_size_in_bytes
  config = the_plan.config
  model = _budget.program_bytes(config, config.widths[0], the_plan.sampled[0], the_plan.lanes[0], the_plan.chunk)
  assert actual <= model <= 2.5 * actual, (model, actual)


@pytest.mark.slow
def test_seeds_that_do_not_fit_run_in_chunks_with_the_same_numbers():
  grid = dict(schemes=("he_normal", "orthogonal"), activations=("relu", "tanh"), depths=(1, 6), widths=(16, 32),
              batch=4, seeds=5, key=jax.random.key(3))
  config = SweepConfig(**grid)
  the_plan = _sweep.plan(config)
  per_seed = max(_budget.program_bytes(config, w, s, lanes, 1)
                 for w, s, lanes in zip(config.widths, the_plan.sampled, the_plan.lanes, strict=True))
  small = _sweep.plan(config, memory_limit=2 * per_seed)
  assert small.chunk == 2 and len(small.chunk_keys) == 3  # 5 seeds as 2 + 2 + 1 (and one padding seed)
  whole, split = jaxinit.sweep(**grid), jaxinit.sweep(**grid, memory_limit=2 * per_seed)
  for m in ("log_q", "log_m", "log_grad", "corr", "spread", "dead", "finite"):
    np.testing.assert_allclose(np.asarray(getattr(split, m)), np.asarray(getattr(whole, m)), rtol=1e-5,
                               atol=1e-5, err_msg=m)
  assert (split.verdict() == whole.verdict()).all()


def test_a_seed_that_cannot_fit_is_refused_before_anything_compiles(monkeypatch):
  monkeypatch.setattr(_programs, "lower", lambda *a: pytest.fail("compiled a sweep that cannot fit"))
  message = re.escape("needs about ") + r"[\d.]+ MiB for one seed at width=1024, more than the 1.0 MiB"
  with pytest.raises(SweepConfigError, match=message) as info:
    jaxinit.sweep(("he_normal",), ("relu",), depths=(4,), widths=(64, 1024), batch=8, seeds=1,
                  memory_limit=2 ** 20)
  assert info.value.parameter == "widths"


def test_estimate_traces_and_compiles_nothing(monkeypatch):
  monkeypatch.setattr(_programs, "lower", lambda *a: pytest.fail("traced a program"))
  config = SweepConfig(schemes=("he_normal", "glorot_normal", "lecun_normal"), activations=("relu", "tanh"),
                       depths=range(1, 33), widths=(64, 128), batch=16, seeds=3)
  e = estimate(config)
  assert (e.programs, e.configurations, e.networks, e.calls) == (2, 3 * 2 * 2 * 32, 3 * 2 * 2 * 32 * 3, 2)
  assert e.peak_bytes[1] > e.peak_bytes[0] > 0 and e.run_seconds > 0 and e.compile_seconds > 0


def test_format_bytes():
  assert [_budget.format_bytes(n) for n in (512, 1536, 3 * 2 ** 30)] == ["512 B", "1.5 KiB", "3.0 GiB"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(memory_limit=0), "memory_limit=0 must be a number of bytes"),
    (dict(memory_limit=1.5e9), "memory_limit=1500000000.0 must be a number of bytes"),
    (dict(memory_limit=True), "memory_limit=True must be a number of bytes"),
])
def test_a_bad_memory_limit_names_it(kwargs, message):
  with pytest.raises(SweepConfigError, match=re.escape(message)):
    _sweep.plan(SweepConfig(schemes=("he_normal",), depths=(2,), widths=(8,), batch=4, seeds=1), **kwargs)


def test_a_cache_that_is_a_file_is_refused(tmp_path):
  blocker = tmp_path / "file"
  blocker.write_text("x")
  with pytest.raises(SweepConfigError, match=re.escape(f"cache={str(blocker)!r} is not a folder")):
    jaxinit.sweep(("he_normal",), ("relu",), depths=(2,), widths=(8,), batch=4, seeds=1, cache=blocker)
