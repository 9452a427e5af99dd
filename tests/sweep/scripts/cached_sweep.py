"""A fresh process that must load a sweep's programs from a cache folder: ``python cached_sweep.py CACHE OUT``.

Tracing is made to fail, so a program that is not found on disk fails the run; the metrics are saved to OUT.
"""

import sys

import numpy as np

import jaxinit
from jaxinit.sweep import _programs


def refuse(*args):
  raise AssertionError("traced a program that the cache folder holds")


_programs.lower = refuse
cache, out = sys.argv[1], sys.argv[2]
r = jaxinit.sweep(("he_normal", "orthogonal"), ("relu", "tanh"), depths=(1, 4), widths=(8, 16), batch=4, seeds=2,
                  cache=cache)
np.savez(out, **{m: np.asarray(getattr(r, m)) for m in ("log_q", "log_m", "log_grad", "corr", "spread")})
print("loaded")
