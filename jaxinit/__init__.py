"""jaxinit: weight initialization for JAX and Flax that you can check instead of guess."""
# ruff: noqa: I001  (imports grouped by layer, as documented, not alphabetically)

from importlib import metadata as _metadata

# Initializers: (key, shape, dtype=None, out_sharding=None) -> Array, a superset of jax.nn.initializers
from jaxinit.initializers import Description as Description
from jaxinit.initializers import Initializer as Initializer
from jaxinit.initializers import VarianceSpec as VarianceSpec
from jaxinit.initializers import constant as constant
from jaxinit.initializers import delta_orthogonal as delta_orthogonal
from jaxinit.initializers import describe as describe
from jaxinit.initializers import dirac as dirac
from jaxinit.initializers import glorot_normal as glorot_normal
from jaxinit.initializers import glorot_uniform as glorot_uniform
from jaxinit.initializers import he_normal as he_normal
from jaxinit.initializers import he_uniform as he_uniform
from jaxinit.initializers import identity as identity
from jaxinit.initializers import kaiming_normal as kaiming_normal
from jaxinit.initializers import kaiming_uniform as kaiming_uniform
from jaxinit.initializers import lecun_normal as lecun_normal
from jaxinit.initializers import lecun_uniform as lecun_uniform
from jaxinit.initializers import normal as normal
from jaxinit.initializers import ones as ones
from jaxinit.initializers import orthogonal as orthogonal
from jaxinit.initializers import sparse as sparse
from jaxinit.initializers import torch_default_bias as torch_default_bias
from jaxinit.initializers import torch_default_kernel as torch_default_kernel
from jaxinit.initializers import truncated_normal as truncated_normal
from jaxinit.initializers import uniform as uniform
from jaxinit.initializers import variance_scaling as variance_scaling
from jaxinit.initializers import xavier_normal as xavier_normal
from jaxinit.initializers import xavier_uniform as xavier_uniform
from jaxinit.initializers import zeros as zeros

# Fans and gains
from jaxinit.initializers import Fans as Fans
from jaxinit.initializers import calculate_gain as calculate_gain
from jaxinit.initializers import compute_fans as compute_fans
from jaxinit.initializers import for_activation as for_activation
from jaxinit.initializers import gain as gain

# Mean-field theory (a namespace: jaxinit.theory.qmap, ...)
from jaxinit import theory as theory

# The JIT core: the variance-propagation sweep
from jaxinit.sweep import SweepConfig as SweepConfig
from jaxinit.sweep import SweepResult as SweepResult
from jaxinit.sweep import sweep as sweep

# Which initialization to use, and why
from jaxinit.advice import Recommendation as Recommendation
from jaxinit.advice import recommend as recommend

# Your own Flax model: diagnose it, calibrate it (LSUV), assert it in tests (jaxinit.testing)
from jaxinit.diagnosis import Calibration as Calibration
from jaxinit.diagnosis import Diagnosis as Diagnosis
from jaxinit.diagnosis import DiagnosisWarning as DiagnosisWarning
from jaxinit.diagnosis import calibrate as calibrate
from jaxinit.diagnosis import diagnose as diagnose
from jaxinit.diagnosis import einsum_init as einsum_init
from jaxinit import testing as testing

# Trainability probes and muP (a namespace: jaxinit.mup.adam, ...)
from jaxinit.training import TrainabilityResult as TrainabilityResult
from jaxinit.training import trainability as trainability
from jaxinit import mup as mup

try:
  __version__ = _metadata.version("jaxinit")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
  __version__ = "0.0.0"

__all__ = (
    "Calibration",
    "Description",
    "Diagnosis",
    "DiagnosisWarning",
    "Fans",
    "Initializer",
    "Recommendation",
    "SweepConfig",
    "SweepResult",
    "TrainabilityResult",
    "VarianceSpec",
    "calculate_gain",
    "calibrate",
    "compute_fans",
    "constant",
    "delta_orthogonal",
    "describe",
    "diagnose",
    "dirac",
    "einsum_init",
    "for_activation",
    "gain",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "mup",
    "normal",
    "ones",
    "orthogonal",
    "recommend",
    "sparse",
    "sweep",
    "testing",
    "theory",
    "torch_default_bias",
    "torch_default_kernel",
    "trainability",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
)
