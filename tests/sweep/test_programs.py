"""Compiled programs kept on disk: a new process loads them instead of tracing and compiling, and never
loads what it should not."""

import os
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit
from jaxinit.sweep import _programs

SCRIPT = Path(__file__).parent / "scripts" / "cached_sweep.py"
GRID = dict(schemes=("he_normal", "orthogonal"), activations=("relu", "tanh"), depths=(1, 4), widths=(8, 16),
            batch=4, seeds=2)
METRICS = ("log_q", "log_m", "log_grad", "corr", "spread")


@pytest.fixture
def fresh_memory(monkeypatch):
  """This process holds no compiled program: only the cache folder can spare a compile."""
  monkeypatch.setattr(_programs, "_PROGRAMS", {})


def _fresh_process(*args, env=None):
  env = dict(os.environ, JAX_PLATFORMS="cpu", **(env or {}))
  return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.slow
def test_a_new_process_loads_the_programs_and_gets_the_same_numbers(tmp_path, fresh_memory):
  here = jaxinit.sweep(**GRID, cache=tmp_path / "cache")
  assert len(list((tmp_path / "cache").glob("*.bin"))) == 2  # one program per width
  # the orthogonal draws call LAPACK: a loaded program that ran before jax had loaded it would crash
  proc = _fresh_process(SCRIPT, tmp_path / "cache", tmp_path / "out.npz")
  assert proc.returncode == 0, proc.stderr[-3000:]
  there = np.load(tmp_path / "out.npz")
  for m in METRICS:
    np.testing.assert_array_equal(there[m], np.asarray(getattr(here, m)), err_msg=m)


@pytest.mark.slow
def test_a_damaged_entry_is_compiled_again_and_replaced(tmp_path, fresh_memory, monkeypatch):
  cache = tmp_path / "cache"
  first = jaxinit.sweep(**GRID, cache=cache)
  for entry in cache.glob("*.bin"):
    entry.write_bytes(entry.read_bytes()[:-100])  # cut short: its checksum no longer matches
  monkeypatch.setattr(_programs, "_PROGRAMS", {})
  lowered = []
  real_lower = _programs.lower
  monkeypatch.setattr(_programs, "lower", lambda plan, i: lowered.append(i) or real_lower(plan, i))
  again = jaxinit.sweep(**GRID, cache=cache)
  assert lowered == [0, 1]
  for m in METRICS:
    np.testing.assert_array_equal(np.asarray(getattr(again, m)), np.asarray(getattr(first, m)), err_msg=m)
  assert all(e.read_bytes().startswith(_programs._MAGIC) and e.stat().st_size > 1000 for e in cache.glob("*.bin"))
  monkeypatch.setattr(_programs, "_PROGRAMS", {})
  lowered.clear()
  jaxinit.sweep(**GRID, cache=cache)
  assert lowered == [], "the rewritten entries were not loaded"


@pytest.mark.slow
def test_a_callable_of_the_callers_own_is_kept_in_memory_only(tmp_path, fresh_memory):
  jaxinit.sweep(("he_normal",), {"my_relu": lambda x: jnp.maximum(x, 0.0)}, depths=(2,), widths=(8,), batch=4, seeds=1,
                cache=tmp_path)
  jaxinit.sweep({"mine": lambda k, s, d=None: jaxinit.he_normal()(k, s, d)}, ("relu",), depths=(2,), widths=(8,),
                batch=4, seeds=1, cache=tmp_path)
  assert not list(tmp_path.glob("*.bin"))


@pytest.mark.slow
def test_nothing_is_written_while_jax_keeps_its_own_persistent_cache(tmp_path):
  # an executable that jax's cache hands back serializes without its kernels: such entries would not load
  code = ("import jaxinit; jaxinit.sweep(('he_normal',), ('relu',), depths=(2,), widths=(8,), batch=4, seeds=1, "
          f"cache={str(tmp_path / 'programs')!r}); print('ran')")
  proc = _fresh_process("-c", code, env={"JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax")})
  assert proc.returncode == 0 and "ran" in proc.stdout, proc.stderr[-3000:]
  assert not (tmp_path / "programs").exists() or not list((tmp_path / "programs").glob("*.bin"))


def test_the_disk_key_names_what_the_program_depends_on():
  from jaxinit.sweep import SweepConfig, _sweep

  def key(**changes):
    return _programs.disk_key(_sweep.plan(SweepConfig(**{**GRID, **changes}), cache="unused"), 0)

  assert key() == key()  # stable within a process (and across: it hashes names, versions and source)
  assert len({key(), key(depths=(1, 5)), key(batch=6), key(bias_std=0.1), key(activations=("relu", "gelu")),
              key(schemes=("lecun_normal", "orthogonal"))}) == 6
  assert key(bias_std=0.1) == key(bias_std=0.2)  # the bias std is an argument of the program, not a constant


@pytest.mark.slow
def test_a_jax_setting_in_a_with_block_keys_its_own_program(fresh_memory):
  # the key was computed in the compiling thread, which does not see the caller's `with` block
  import jax

  kw = dict(schemes=("he_normal",), activations=("relu",), depths=(3,), widths=(8,), batch=4, seeds=1)
  first = np.asarray(jaxinit.sweep(**kw).log_m)
  with jax.threefry_partitionable(not jax.config.jax_threefry_partitionable):
    other = np.asarray(jaxinit.sweep(**kw).log_m)
  again = np.asarray(jaxinit.sweep(**kw).log_m)
  assert not np.array_equal(first, other)  # another random stream
  np.testing.assert_array_equal(again, first)


@pytest.mark.slow
def test_a_key_of_another_implementation_gets_its_own_program(fresh_memory):
  import jax

  kw = dict(schemes=("he_normal",), activations=("relu",), depths=(3,), widths=(8,), batch=4, seeds=1)
  threefry = jaxinit.sweep(**kw, key=jax.random.key(0))
  rbg = jaxinit.sweep(**kw, key=jax.random.key(0, impl="rbg"))  # raised: compiled with key<fry>, called with rbg
  assert not np.array_equal(np.asarray(threefry.log_m), np.asarray(rbg.log_m))


@pytest.mark.slow
def test_a_program_that_cannot_be_kept_is_run_all_the_same(tmp_path, fresh_memory, monkeypatch):
  import threading

  def refuse(*args, **kwargs):
    raise NotImplementedError("serialization of this executable")

  monkeypatch.setattr(_programs.serialize_executable, "serialize", refuse)
  done = []
  worker = threading.Thread(target=lambda: done.append(jaxinit.sweep(**GRID, cache=tmp_path)), daemon=True)
  worker.start()
  worker.join(120)
  assert done, "the sweep waited forever for a program whose storing failed"
  assert done[0].verdict().shape == (2, 2, 2, 2) and not list(tmp_path.glob("*.bin"))


@pytest.mark.slow
def test_only_the_caches_own_entries_are_pruned(tmp_path, fresh_memory, monkeypatch):
  mine = [tmp_path / f"user_{i}.bin" for i in range(3)]
  for path in mine:
    path.write_bytes(b"the caller's")
  monkeypatch.setattr(_programs, "_MAX_ENTRIES", 1)
  jaxinit.sweep(**GRID, cache=tmp_path)
  assert all(path.read_bytes() == b"the caller's" for path in mine)
  assert len([p for p in tmp_path.glob("*.bin") if p.name[0] != "u"]) == 1  # the newest of the two entries
