"""Test configuration: strict dtype promotion, so an accidental float64 or weak-type upcast fails loudly;
jax's compilation-cache settings put back after every test; caches in a folder of the session's; and a disk
that fills up half-way through a file, for the tests of atomic writes."""

import errno
import os

import jax
import pytest
from jax.experimental.compilation_cache import compilation_cache

jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture(autouse=True, scope="session")
def _own_cache_home(tmp_path_factory):
  """The command lines the tests run keep their compiled programs in a folder of the test session's,
  not in the user's ~/.cache (subprocesses inherit it)."""
  saved = os.environ.get("XDG_CACHE_HOME")
  os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
  yield
  if saved is None:
    os.environ.pop("XDG_CACHE_HOME", None)
  else:
    os.environ["XDG_CACHE_HOME"] = saved

_CACHE_OPTIONS = ("jax_enable_compilation_cache", "jax_compilation_cache_dir",
                  "jax_persistent_cache_min_compile_time_secs", "jax_persistent_cache_min_entry_size_bytes")


@pytest.fixture(autouse=True)
def _jax_cache_settings_kept():
  """`jaxinit theory` and `gains` turn jax's persistent compilation cache on for their process; a test that
  runs them in this one puts the settings back, so no other test runs with jax's cache on."""
  saved = {name: jax.config.values[name] for name in _CACHE_OPTIONS}
  yield
  if any(jax.config.values[name] != value for name, value in saved.items()):
    for name, value in saved.items():
      jax.config.update(name, value)
    compilation_cache.reset_cache()


class _FailingFile:
  """A file that writes the first half of the first chunk, then reports a full disk."""

  def __init__(self, real):
    self.real = real

  def write(self, data):
    self.real.write(data[:len(data) // 2])
    raise OSError(errno.ENOSPC, "No space left on device")

  def __getattr__(self, name):
    return getattr(self.real, name)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    return self.real.__exit__(*exc)


@pytest.fixture
def full_disk(monkeypatch):
  """Every file jaxinit writes from now on fails half-way with ENOSPC."""
  from jaxinit.core import _atomic

  real_fdopen = os.fdopen
  monkeypatch.setattr(_atomic.os, "fdopen", lambda *a, **k: _FailingFile(real_fdopen(*a, **k)))
