"""The spectrum of the input-output Jacobian at the fixed point (dynamical isometry).

Free probability gives the moments of the squared singular values of a product of random
layers from two numbers of the activation at q*: mu_1 = E[phi'^2] and mu_2 = E[phi'^4].
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxinit.theory import _checks, _fixed_points


class JacobianSpectrum(NamedTuple):
  """Moments of the eigenvalues of ``J J^T`` predicted by free probability."""
  variance: jax.Array
  mean: jax.Array
  mu1: jax.Array
  mu2: jax.Array


def jacobian_spectrum_variance(activation, sigma_w2, sigma_b2, depth: int, *,
                               orthogonal: bool = False,
                               param: float | None = None) -> JacobianSpectrum:
  r"""Predicted spread of the squared singular values of the input-output Jacobian.

  .. math::
    \frac{\mathrm{Var}[\lambda]}{E[\lambda]^2} = L \left(\frac{\mu_2}{\mu_1^2} - 1 - s_1\right),
    \quad E[\lambda] = \chi_1^L, \quad \mu_k = E[\phi'(\sqrt{q^*} z)^{2k}]

  for the eigenvalues lambda of ``J J^T`` over ``L = depth`` layers at q*, with
  ``s_1 = -1`` for Gaussian and 0 for orthogonal weights. At chi1 = 1 the mean is 1 and
  ``variance`` is the variance itself: ``L`` for linear Gaussian, ``2 L`` for ReLU
  Gaussian, ``L`` for ReLU orthogonal, -> 0 for tanh orthogonal as q* -> 0.

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    depth: number of layers L (static).
    orthogonal: orthogonal rather than Gaussian weights.
    param: negative slope for ``"leaky_relu"``.

  Returns:
    ``JacobianSpectrum(variance, mean, mu1, mu2)``, float64: ``variance`` is the
    variance divided by the squared mean (the formula above).

  Raises:
    ValueError: for an unknown activation, ``depth < 0`` or a negative variance.

  Examples:
    >>> from jaxinit import theory
    >>> print(f"{theory.jacobian_spectrum_variance('relu', 2.0, 0.0, 10).variance:.1f}")
    20.0

  References:
    Pennington, Schoenholz & Ganguli, Resurrecting the sigmoid in deep learning through
    dynamical isometry: theory and practice, 2017.
  """
  where = "jacobian_spectrum_variance"
  depth = _checks.check_depth(depth, where)
  mu1, mu2 = _fixed_points.point("slopes", activation, sigma_w2, sigma_b2, param, where)[2:]
  with jax.enable_x64(True):
    s1 = 0.0 if orthogonal else -1.0
    variance = depth * (mu2 / mu1**2 - 1.0 - s1)
    mean = (jnp.asarray(sigma_w2, jnp.float64) * mu1) ** depth
    return JacobianSpectrum(variance, mean, mu1, mu2)
