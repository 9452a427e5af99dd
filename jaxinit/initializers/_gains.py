"""Gains: PyTorch's table, and the exact variance-preserving gain of any activation."""

import math

from jaxinit.core import _activations, _checks
from jaxinit.initializers._describe import Distribution, Mode
from jaxinit.initializers._variance_scaling import build_variance_scaling

_TORCH_LINEAR = ("linear", "conv1d", "conv2d", "conv3d",
                 "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
TORCH_NONLINEARITIES = (*_TORCH_LINEAR, "sigmoid", "tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param=None) -> float:
  r"""PyTorch's ``torch.nn.init.calculate_gain``, value for value.

  ==================  =============================
  nonlinearity        gain
  ==================  =============================
  linear, conv*       1
  sigmoid             1
  tanh                5/3
  relu                sqrt(2)
  leaky_relu          sqrt(2 / (1 + slope^2))
  selu                3/4
  ==================  =============================

  These are PyTorch's conventions, not variance-preserving gains (tanh's 5/3 and
  selu's 3/4 are heuristics; sigmoid's 1 is far off): see :func:`gain` for the exact one.

  Args:
    nonlinearity: one of the names above (case-sensitive, as in PyTorch).
    param: the negative slope for ``"leaky_relu"`` (default 0.01); ignored otherwise.

  Returns:
    The gain as a float.

  Raises:
    ValueError: an unsupported ``nonlinearity``, or a ``param`` that is not an int or
      float (bool excluded) for ``"leaky_relu"``.

  Examples:
    >>> import jaxinit
    >>> jaxinit.calculate_gain("tanh")
    1.6666666666666667
  """
  if nonlinearity in _TORCH_LINEAR or nonlinearity == "sigmoid":
    return 1.0
  if nonlinearity == "tanh":
    return 5.0 / 3
  if nonlinearity == "relu":
    return math.sqrt(2.0)
  if nonlinearity == "leaky_relu":
    if param is None:
      slope = 0.01
    elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
      slope = param
    else:
      raise ValueError(f"calculate_gain: param={param!r} is not a valid negative slope for leaky_relu")
    return math.sqrt(2.0 / (1 + slope ** 2))
  if nonlinearity == "selu":
    return 3.0 / 4
  raise ValueError(f"calculate_gain: nonlinearity={nonlinearity!r} is not supported; expected one of "
                   f"{', '.join(TORCH_NONLINEARITIES)}")


def second_moment(activation, param=None) -> float:
  """E[phi(z)^2] for z ~ N(0, 1), exact where a closed form exists, else by split quadrature."""
  act = _activations.resolve(activation, param, where="gain")
  if act.name in ("identity", "linear"):
    return 1.0
  if act.name == "relu":
    return 0.5
  if act.name == "leaky_relu":
    return (1.0 + act.param ** 2) / 2.0
  return _activations.expect(lambda x: act.fn(x) ** 2)


def gain(activation, param=None) -> float:
  r"""The exact variance-preserving gain ``1 / sqrt(E[phi(z)^2])``, z ~ N(0, 1).

  With weights of variance ``gain^2 / fan_in`` and unit-variance pre-activations,
  the next layer's pre-activations have unit variance again: the gain makes the
  activation's output second moment 1. Closed forms: identity 1, relu sqrt(2),
  leaky_relu sqrt(2 / (1 + slope^2)); selu gives 1 (to 1e-12). Other activations and
  callables use Gauss-Legendre quadrature split at 0, in float64.

  Args:
    activation: a name (``identity``, ``relu``, ``leaky_relu``, ``elu``, ``selu``,
      ``gelu``, ``gelu_exact``, ``silu``, ``softplus``, ``tanh``, ``sigmoid``, ``erf``,
      ``mish``) or an elementwise callable on jnp arrays.
    param: the negative slope for ``"leaky_relu"`` (default 0.01).

  Returns:
    The gain as a float.

  Raises:
    ValueError: an unknown activation, a bad ``param``, or an activation whose
      second moment is zero or not finite.

  Examples:
    >>> import jaxinit
    >>> round(jaxinit.gain("relu") ** 2, 12)
    2.0
    >>> round(jaxinit.gain("tanh"), 4)
    1.5925

  References:
    He et al., Delving Deep into Rectifiers, 2015.
  """
  act = _activations.resolve(activation, param, where="gain")
  if act.name in ("identity", "linear"):
    return 1.0
  if act.name in ("relu", "leaky_relu"):
    return math.sqrt(2.0 / (1.0 + (act.param or 0.0) ** 2))
  m2 = second_moment(act)
  if not (math.isfinite(m2) and m2 > 0):
    raise ValueError(f"gain: activation={activation!r} has E[phi(z)^2]={m2!r}; no gain preserves variance")
  return 1.0 / math.sqrt(m2)


def for_activation(activation, distribution: Distribution = "truncated_normal",
                   mode: Mode = "fan_in", param=None, in_axis: _checks.Axes = -2,
                   out_axis: _checks.Axes = -1, batch_axis: _checks.Axes = (),
                   dtype=None) -> _checks.Initializer:
  """Builds the variance-preserving initializer for an activation: variance ``gain(activation)**2 / n``.

  ``for_activation("relu")`` is He normal, ``for_activation("identity")`` LeCun
  normal, ``for_activation("selu")`` LeCun normal too.

  Args:
    activation: a name or callable, as in :func:`gain`.
    distribution: ``"truncated_normal"``, ``"normal"`` or ``"uniform"``.
    mode: ``"fan_in"`` (forward signal), ``"fan_out"`` (gradients), ``"fan_avg"`` or ``"fan_geo_avg"``.
    param: the negative slope for ``"leaky_relu"``.
    in_axis: axis or axes of the inputs.
    out_axis: axis or axes of the outputs.
    batch_axis: axis or axes to ignore.
    dtype: the initializer's default dtype.

  Returns:
    A :func:`variance_scaling` initializer.

  Raises:
    ValueError: as :func:`gain` and :func:`variance_scaling`.

  Examples:
    >>> import jax, jaxinit
    >>> init = jaxinit.for_activation("tanh", distribution="normal")
    >>> jaxinit.describe(init).spec.scale == jaxinit.gain("tanh") ** 2
    True

  References:
    He et al., Delving Deep into Rectifiers, 2015.
  """
  scale = gain(activation, param) ** 2
  return build_variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype,
                                "for_activation")


