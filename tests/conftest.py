"""Test configuration: strict dtype promotion, so an accidental float64 or weak-type upcast fails loudly;
and a disk that fills up half-way through a file, for the tests of atomic writes."""

import errno
import os

import jax
import pytest

jax.config.update("jax_numpy_dtype_promotion", "strict")


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
