"""muP (maximal update parametrisation) for Flax and optax: width-transferable init and learning rates.

Initializers per role, an optax transformation that scales learning rates per role, roles
inferred from a model and its base-width twin (no subclassing), and the coordinate check.
Yang et al., Tensor Programs V, 2022.
"""

# The coordinate check: per-layer activation size across widths, standard against muP
from jaxinit.mup._coord import CoordCheckResult as CoordCheckResult
from jaxinit.mup._coord import coord_check as coord_check

# Initializers per role
from jaxinit.mup._init import hidden_init as hidden_init
from jaxinit.mup._init import input_init as input_init
from jaxinit.mup._init import output_init as output_init

# optax: per-role learning rates
from jaxinit.mup._optim import adam as adam
from jaxinit.mup._optim import scale_by_width as scale_by_width
from jaxinit.mup._optim import sgd as sgd

# Roles, inferred from a model and its base-width twin
from jaxinit.mup._roles import ParamRoles as ParamRoles
from jaxinit.mup._roles import Role as Role
from jaxinit.mup._roles import infer_roles as infer_roles
from jaxinit.mup._rules import ROLES as ROLES

__all__ = (
    "CoordCheckResult",
    "ROLES",
    "ParamRoles",
    "Role",
    "adam",
    "coord_check",
    "hidden_init",
    "infer_roles",
    "input_init",
    "output_init",
    "scale_by_width",
    "sgd",
)
