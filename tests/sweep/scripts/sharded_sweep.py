"""Run with 4 forced host devices: a sweep sharded over 4 devices equals the 1-device run."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

import jax  # noqa: E402
import numpy as np  # noqa: E402

import jaxinit  # noqa: E402

assert jax.device_count() == 4
kwargs = dict(schemes=("he_normal", "orthogonal"), activations=("relu", "tanh"), depths=range(1, 9),
              widths=(16, 32), batch=4, seeds=6, key=jax.random.key(7))
one = jaxinit.sweep(devices=jax.devices()[:1], **kwargs)
four = jaxinit.sweep(devices=jax.devices(), **kwargs)  # 6 seeds padded to 8 over 4 devices
for name in ("log_q", "log_m", "log_grad", "corr", "dead", "spread", "finite", "log_norm0"):
  a, b = np.asarray(getattr(one, name)), np.asarray(getattr(four, name))
  assert a.shape == b.shape, (name, a.shape, b.shape)
  np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=name)
assert (one.verdict() == four.verdict()).all()

# a sharded program kept on disk and loaded back runs on the same 4 devices with the same numbers
import tempfile  # noqa: E402

from jaxinit.sweep import _programs  # noqa: E402

with tempfile.TemporaryDirectory() as cache:
  _programs._PROGRAMS.clear()
  jaxinit.sweep(devices=jax.devices(), cache=cache, **kwargs)
  _programs._PROGRAMS.clear()
  real_lower, _programs.lower = _programs.lower, None  # loading only: a trace would fail
  loaded = jaxinit.sweep(devices=jax.devices(), cache=cache, **kwargs)
for name in ("log_q", "log_m", "corr"):
  np.testing.assert_array_equal(np.asarray(getattr(loaded, name)), np.asarray(getattr(four, name)), err_msg=name)

# and on the devices it was compiled for, in their order, not the backend's default ones
with tempfile.TemporaryDirectory() as cache:
  reordered = jax.devices()[::-1]
  _programs.lower = real_lower
  _programs._PROGRAMS.clear()
  jaxinit.sweep(devices=reordered, cache=cache, **kwargs)
  _programs._PROGRAMS.clear()
  _programs.lower = None
  loaded = jaxinit.sweep(devices=reordered, cache=cache, **kwargs)  # aborted the process: a device mismatch
for name in ("log_q", "log_m", "corr"):
  np.testing.assert_array_equal(np.asarray(getattr(loaded, name)), np.asarray(getattr(four, name)), err_msg=name)
print("identical across 1 and 4 devices")
