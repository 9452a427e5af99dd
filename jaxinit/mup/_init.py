"""muP initializers: drop-in ``kernel_init`` callables for the input, hidden and output (readout) layers."""

import math

import jax

from jaxinit.initializers import compute_fans, variance_scaling

_DISTRIBUTIONS = ("normal", "truncated_normal", "uniform")


def _check(scale, distribution: str, where: str) -> float:
  if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
    raise ValueError(f"{where}: scale={scale!r} must be a finite number > 0")
  if distribution not in _DISTRIBUTIONS:
    raise ValueError(f"{where}: distribution={distribution!r} must be one of {', '.join(_DISTRIBUTIONS)}")
  return float(scale)


def input_init(scale: float = 1.0, distribution: str = "normal",
               dtype=None) -> jax.nn.initializers.Initializer:
  r"""The muP initializer of an input layer (and of biases): variance ``scale / fan_in``, as standard.

  .. math:: \mathrm{Var}(W) = \sigma^2 / \mathrm{fan\_in}

  Its fan_in is the data's dimension, which does not grow with width; its learning rate
  is what muP changes (:func:`jaxinit.mup.scale_by_width`).

  Args:
    scale: sigma^2, > 0.
    distribution: ``"normal"``, ``"truncated_normal"`` or ``"uniform"``.
    dtype: the default dtype of the draws.

  Returns:
    An initializer ``init(key, shape, dtype=None)``, kernels ``(..., fan_in, fan_out)``.

  Raises:
    ValueError: a non-positive scale or an unknown distribution.

  Examples:
    >>> import jax, jaxinit
    >>> jaxinit.mup.input_init()(jax.random.key(0), (8, 256)).shape
    (8, 256)

  References:
    Yang et al., Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer, 2022.
  """
  scale = _check(scale, distribution, "input_init")
  return variance_scaling(scale, "fan_in", distribution, dtype=dtype)


def hidden_init(scale: float = 1.0, distribution: str = "normal",
                dtype=None) -> jax.nn.initializers.Initializer:
  r"""The muP initializer of a hidden (width x width) layer: variance ``scale / fan_in``, as standard.

  .. math:: \mathrm{Var}(W) = \sigma^2 / \mathrm{fan\_in}

  Args:
    scale: sigma^2, > 0 (2 for ReLU keeps the signal's size through depth).
    distribution: ``"normal"``, ``"truncated_normal"`` or ``"uniform"``.
    dtype: the default dtype of the draws.

  Returns:
    An initializer ``init(key, shape, dtype=None)``.

  Raises:
    ValueError: a non-positive scale or an unknown distribution.

  Examples:
    >>> import jax, jaxinit
    >>> w = jaxinit.mup.hidden_init(2.0)(jax.random.key(0), (512, 512))
    >>> print(f"{float(w.var() * 512):.1f}")
    2.0

  References:
    Yang et al., Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer, 2022.
  """
  scale = _check(scale, distribution, "hidden_init")
  return variance_scaling(scale, "fan_in", distribution, dtype=dtype)


def output_init(base_fan_in: int, scale: float = 1.0, distribution: str = "normal",
                dtype=None) -> jax.nn.initializers.Initializer:
  r"""The muP initializer of the readout: variance ``scale base_fan_in / fan_in^2``.

  .. math::
    \mathrm{Var}(W) = \frac{\sigma^2}{\mathrm{fan\_in}} \cdot \frac{\mathrm{base\_fan\_in}}{\mathrm{fan\_in}}

  Standard at ``fan_in = base_fan_in``; at larger widths the readout shrinks as 1/width
  instead of 1/sqrt(width), so the output stays O(1) once the features move. Microsoft's
  ``mup`` reaches the same with ``MuReadout`` (an output multiplier 1/width_mult); it also
  suggests a zero readout (``jaxinit.zeros``), which muP allows.

  Args:
    base_fan_in: the readout's fan_in in the base model, >= 1.
    scale: sigma^2, > 0.
    distribution: ``"normal"``, ``"truncated_normal"`` or ``"uniform"``.
    dtype: the default dtype of the draws.

  Returns:
    An initializer ``init(key, shape, dtype=None)``, kernels ``(..., fan_in, fan_out)``.

  Raises:
    ValueError: at the factory, a bad ``base_fan_in``, scale or distribution; at the call,
      a kernel whose fan_in is below ``base_fan_in`` (the base width is larger than the width).

  Examples:
    >>> import jax, jaxinit
    >>> w = jaxinit.mup.output_init(base_fan_in=64)(jax.random.key(0), (1024, 10))
    >>> print(f"{float(w.var() * 1024 * 1024 / 64):.1f}")
    1.0

  References:
    Yang et al., Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer, 2022.
  """
  scale = _check(scale, distribution, "output_init")
  if isinstance(base_fan_in, bool) or not isinstance(base_fan_in, int) or base_fan_in < 1:
    raise ValueError(f"output_init: base_fan_in={base_fan_in!r} must be an int >= 1")

  def init(key, shape, dtype=dtype, out_sharding=None):
    fan_in = compute_fans(shape).fan_in
    if fan_in < base_fan_in:
      raise ValueError(f"output_init: base_fan_in={base_fan_in} is larger than the kernel's fan_in {fan_in} "
                       f"(shape {tuple(shape)}); muP scales from a base width up")
    inner = variance_scaling(scale * base_fan_in / fan_in, "fan_in", distribution, dtype=dtype)
    return inner(key, shape, dtype, out_sharding=out_sharding)

  return init
