"""The muP rules: a parameter's role from which of its fans grow with width, and its learning-rate factor.

Yang et al., Tensor Programs V, 2022, Table 3 (the form without output multipliers, equal to
the standard parametrisation at the base width). A fan is "infinite" when it differs from the
base model's; the width multipliers are ``fan / base fan``.

============  ===========  ================  =======================  ======================
role          fans growing init variance     SGD learning rate        Adam learning rate
============  ===========  ================  =======================  ======================
``input``     fan_out      1 / fan_in        x fan_out mult           x 1
``hidden``    both         1 / fan_in        x fan_out / fan_in mult  x 1 / fan_in mult
``output``    fan_in       1 / (fan_in mult  x 1 / fan_in mult        x 1 / fan_in mult
                           x fan_in)
``fixed``     none         unchanged         x 1                      x 1
============  ===========  ================  =======================  ======================

Biases are ``input``-like (fan_in 1, fan_out the width). These are the scalings of
Microsoft's ``mup`` package (``MuSGD``, ``MuAdam``, ``MuReadout`` with its output multiplier
folded into the readout's initialisation and learning rate).
"""

import math

ROLES = ("input", "hidden", "output", "fixed")
OPTIMIZER_KINDS = ("adam", "sgd")


def check_role(role, where: str) -> str:
  if role not in ROLES:
    raise ValueError(f"{where}: role={role!r} must be one of {', '.join(ROLES)}")
  return role


def check_mult(value, name: str, where: str) -> float:
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
    raise ValueError(f"{where}: {name}={value!r} must be a finite number > 0")
  if value < 1:
    raise ValueError(f"{where}: {name}={value!r} is below 1: the base width is larger than the width; "
                     "muP scales from a base width up")
  return float(value)


def role_of(fan_in_grows: bool, fan_out_grows: bool) -> str:
  """The role of a parameter from which of its fans grow with width."""
  if fan_in_grows and fan_out_grows:
    return "hidden"
  if fan_out_grows:
    return "input"
  return "output" if fan_in_grows else "fixed"


def learning_rate_factor(role: str, fan_in_mult: float, fan_out_mult: float, optimizer: str) -> float:
  """The factor on a parameter's learning rate under muP (the table above)."""
  if optimizer == "sgd":
    return {"input": fan_out_mult, "hidden": fan_out_mult / fan_in_mult, "output": 1.0 / fan_in_mult,
            "fixed": 1.0}[role]
  return {"input": 1.0, "hidden": 1.0 / fan_in_mult, "output": 1.0 / fan_in_mult, "fixed": 1.0}[role]
