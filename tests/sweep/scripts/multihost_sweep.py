"""One of two processes of a two-host CPU sweep: ``python multihost_sweep.py PROCESS_ID PORT OUT``.

Each process initialises ``jax.distributed`` against a coordinator on 127.0.0.1, runs the same sweep over
``jax.devices()`` (one CPU device per process), then compares it with the sweep on its own device alone.
"""

import sys

import jax

process_id, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=process_id)

import numpy as np  # noqa: E402

import jaxinit  # noqa: E402

assert jax.process_count() == 2 and jax.device_count() == 2 and jax.local_device_count() == 1
kwargs = dict(schemes=("he_normal", "orthogonal"), activations=("relu", "tanh"), depths=(1, 4, 8), widths=(16,),
              batch=8, seeds=3, key=jax.random.key(5))
both = jaxinit.sweep(devices=jax.devices(), **kwargs)  # 3 seeds padded to 4 over the two hosts
alone = jaxinit.sweep(devices=jax.local_devices(), **kwargs)
for name in ("log_q", "log_m", "log_grad", "corr", "dead", "spread", "finite", "log_norm0"):
  a, b = np.asarray(getattr(alone, name)), np.asarray(getattr(both, name))
  assert a.shape == b.shape, (name, a.shape, b.shape)
  np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=name)
assert (alone.verdict() == both.verdict()).all()
np.save(out, np.asarray(both.log_m))
print(f"process {process_id}: two hosts equal one")
