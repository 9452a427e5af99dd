"""jaxinit: weight initialization for JAX and Flax that you can check instead of guess."""

from importlib import metadata as _metadata

from jaxinit import theory as theory
from jaxinit.initializers import Description as Description
from jaxinit.initializers import Initializer as Initializer
from jaxinit.initializers import Fans as Fans
from jaxinit.initializers import compute_fans as compute_fans
from jaxinit.initializers import calculate_gain as calculate_gain
from jaxinit.initializers import for_activation as for_activation
from jaxinit.initializers import gain as gain
from jaxinit.sweep import SweepResult as SweepResult
from jaxinit.initializers import VarianceSpec as VarianceSpec
from jaxinit.initializers import constant as constant
from jaxinit.initializers import glorot_normal as glorot_normal
from jaxinit.initializers import glorot_uniform as glorot_uniform
from jaxinit.initializers import he_normal as he_normal
from jaxinit.initializers import he_uniform as he_uniform
from jaxinit.initializers import kaiming_normal as kaiming_normal
from jaxinit.initializers import kaiming_uniform as kaiming_uniform
from jaxinit.initializers import lecun_normal as lecun_normal
from jaxinit.initializers import lecun_uniform as lecun_uniform
from jaxinit.initializers import normal as normal
from jaxinit.initializers import ones as ones
from jaxinit.initializers import torch_default_bias as torch_default_bias
from jaxinit.initializers import torch_default_kernel as torch_default_kernel
from jaxinit.initializers import truncated_normal as truncated_normal
from jaxinit.initializers import uniform as uniform
from jaxinit.initializers import variance_scaling as variance_scaling
from jaxinit.initializers import xavier_normal as xavier_normal
from jaxinit.initializers import xavier_uniform as xavier_uniform
from jaxinit.initializers import zeros as zeros
from jaxinit.initializers import delta_orthogonal as delta_orthogonal
from jaxinit.initializers import describe as describe
from jaxinit.initializers import dirac as dirac
from jaxinit.initializers import identity as identity
from jaxinit.initializers import orthogonal as orthogonal
from jaxinit.initializers import sparse as sparse
from jaxinit.sweep import sweep as sweep
from jaxinit import training as training
from jaxinit.training import TrainabilityResult as TrainabilityResult
from jaxinit.training import trainability as trainability
from jaxinit import mup as mup

try:
  __version__ = _metadata.version("jaxinit")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
  __version__ = "0.0.0"

__all__ = (
    "Description",
    "Fans",
    "Initializer",
    "SweepResult",
    "VarianceSpec",
    "calculate_gain",
    "compute_fans",
    "constant",
    "delta_orthogonal",
    "describe",
    "dirac",
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
    "normal",
    "ones",
    "orthogonal",
    "sparse",
    "sweep",
    "theory",
    "torch_default_bias",
    "torch_default_kernel",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
    "training",
    "TrainabilityResult",
    "trainability",
    "mup",
)
