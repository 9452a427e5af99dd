"""Initializers: ``(key, shape, dtype=None, out_sharding=None) -> Array`` callables, fans and gains.

Every initializer is built on one skeleton (``_skeleton.py``): it checks the key and
the shape, takes its factory's ``dtype=`` as its default, saturates values beyond the
dtype's finite range to its largest finite value (never inf or nan), honours
``out_sharding``, and carries a ``description`` of what it draws (:func:`describe`).
"""

# The protocol and what an initializer draws
from jaxinit.core._checks import Initializer as Initializer
from jaxinit.initializers._describe import Description as Description
from jaxinit.initializers._describe import VarianceSpec as VarianceSpec
from jaxinit.initializers._describe import describe as describe

# Constants and simple distributions
from jaxinit.initializers._distributions import constant as constant
from jaxinit.initializers._distributions import normal as normal
from jaxinit.initializers._distributions import ones as ones
from jaxinit.initializers._distributions import truncated_normal as truncated_normal
from jaxinit.initializers._distributions import uniform as uniform
from jaxinit.initializers._distributions import zeros as zeros

# Fans and gains
from jaxinit.initializers._fans import Fans as Fans
from jaxinit.initializers._fans import compute_fans as compute_fans
from jaxinit.initializers._gains import calculate_gain as calculate_gain
from jaxinit.initializers._gains import for_activation as for_activation
from jaxinit.initializers._gains import gain as gain

# Structured schemes
from jaxinit.initializers._structured import delta_orthogonal as delta_orthogonal
from jaxinit.initializers._structured import dirac as dirac
from jaxinit.initializers._structured import identity as identity
from jaxinit.initializers._structured import orthogonal as orthogonal
from jaxinit.initializers._structured import sparse as sparse

# PyTorch's defaults
from jaxinit.initializers._torch import torch_default_bias as torch_default_bias
from jaxinit.initializers._torch import torch_default_kernel as torch_default_kernel

# Variance scaling and its named specialisations (jax.nn.initializers, sample for sample)
from jaxinit.initializers._variance_scaling import glorot_normal as glorot_normal
from jaxinit.initializers._variance_scaling import glorot_uniform as glorot_uniform
from jaxinit.initializers._variance_scaling import he_normal as he_normal
from jaxinit.initializers._variance_scaling import he_uniform as he_uniform
from jaxinit.initializers._variance_scaling import kaiming_normal as kaiming_normal
from jaxinit.initializers._variance_scaling import kaiming_uniform as kaiming_uniform
from jaxinit.initializers._variance_scaling import lecun_normal as lecun_normal
from jaxinit.initializers._variance_scaling import lecun_uniform as lecun_uniform
from jaxinit.initializers._variance_scaling import variance_scaling as variance_scaling
from jaxinit.initializers._variance_scaling import xavier_normal as xavier_normal
from jaxinit.initializers._variance_scaling import xavier_uniform as xavier_uniform
