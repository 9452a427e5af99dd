"""A sweep over two processes (``jax.distributed`` on localhost, CPU collectives) equals the single-process one."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).parent / "scripts" / "multihost_sweep.py"


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_equal_one(tmp_path):
  port = str(_free_port())
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  env.pop("XLA_FLAGS", None)
  procs = [subprocess.Popen([sys.executable, str(SCRIPT), str(i), port, str(tmp_path / f"log_m{i}.npy")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (0, 1)]
  try:
    outs = [p.communicate(timeout=300) for p in procs]
  finally:
    for p in procs:
      p.kill()
  for i, (p, (stdout, stderr)) in enumerate(zip(procs, outs, strict=True)):
    assert p.returncode == 0, f"process {i}:\n{stderr[-3000:]}"
    assert f"process {i}: two hosts equal one" in stdout
  np.testing.assert_array_equal(np.load(tmp_path / "log_m0.npy"), np.load(tmp_path / "log_m1.npy"))
