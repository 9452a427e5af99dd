"""jaxinit: weight initialization for JAX and Flax that you can check instead of guess."""

from importlib import metadata as _metadata

from jaxinit import theory as theory
from jaxinit._core import Initializer as Initializer
from jaxinit._fans import Fans as Fans
from jaxinit._fans import compute_fans as compute_fans
from jaxinit._gains import calculate_gain as calculate_gain
from jaxinit._gains import for_activation as for_activation
from jaxinit._gains import gain as gain
from jaxinit._result import SweepResult as SweepResult
from jaxinit._schemes import VarianceSpec as VarianceSpec
from jaxinit._schemes import constant as constant
from jaxinit._schemes import glorot_normal as glorot_normal
from jaxinit._schemes import glorot_uniform as glorot_uniform
from jaxinit._schemes import he_normal as he_normal
from jaxinit._schemes import he_uniform as he_uniform
from jaxinit._schemes import kaiming_normal as kaiming_normal
from jaxinit._schemes import kaiming_uniform as kaiming_uniform
from jaxinit._schemes import lecun_normal as lecun_normal
from jaxinit._schemes import lecun_uniform as lecun_uniform
from jaxinit._schemes import normal as normal
from jaxinit._schemes import ones as ones
from jaxinit._schemes import torch_default_bias as torch_default_bias
from jaxinit._schemes import torch_default_kernel as torch_default_kernel
from jaxinit._schemes import truncated_normal as truncated_normal
from jaxinit._schemes import uniform as uniform
from jaxinit._schemes import variance_scaling as variance_scaling
from jaxinit._schemes import xavier_normal as xavier_normal
from jaxinit._schemes import xavier_uniform as xavier_uniform
from jaxinit._schemes import zeros as zeros
from jaxinit._structured import delta_orthogonal as delta_orthogonal
from jaxinit._structured import dirac as dirac
from jaxinit._structured import identity as identity
from jaxinit._structured import orthogonal as orthogonal
from jaxinit._structured import sparse as sparse
from jaxinit._sweep import sweep as sweep

try:
  __version__ = _metadata.version("jaxinit")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
  __version__ = "0.0.0"

__all__ = (
    "Fans",
    "Initializer",
    "SweepResult",
    "VarianceSpec",
    "calculate_gain",
    "compute_fans",
    "constant",
    "delta_orthogonal",
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
)
