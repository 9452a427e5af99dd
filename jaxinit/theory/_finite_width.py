"""The finite-width law of deep ReLU networks: log-normal fluctuations of the squared norm.

Mean-field theory is exact only at infinite width. For ReLU at He initialisation the
per-layer norm ratio is an exact scaled chi-squared, so log(M_L / M_0) is a sum of
independent terms whose mean and variance grow with beta = sum 1 / N_l, the depth-to-width
ratio (Hanin & Nica 2019).
"""

import functools
import math
import numbers
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp


class LogNormMoments(NamedTuple):
  """Mean and variance of ``log(M_L / M_0)``."""
  mean: jax.Array
  var: jax.Array


def relu_log_norm_moments(widths: Sequence[int], *, exact: bool = False) -> LogNormMoments:
  r"""Mean and variance of log(M_L / M_0) for a finite-width ReLU network at He init.

  .. math::
    M_l = |x^l|^2 / N_l, \quad \frac{M_l}{M_{l-1}} = \frac{2}{N_l} \chi^2_{K_l},
    \quad K_l \sim \mathrm{Binomial}(N_l, 1/2)

  independent across layers (Gaussian weights, no bias). Asymptotically
  ``mean = -5 beta / 2`` and ``var = 5 beta`` with ``beta = sum 1 / N_l``. With
  ``exact=True`` the sums over K use ``E[log chi2_k] = digamma(k/2) + log 2`` and
  ``Var = trigamma(k/2)``, conditioned on ``K_l > 0`` in every layer (else the network
  output is 0 and the log is -inf; that happens with probability ``2^-N_l`` per layer).

  Args:
    widths: widths ``N_1 .. N_L`` of the hidden layers (positive ints; static).
    exact: use the exact per-layer law instead of the large-width asymptotics.

  Returns:
    ``LogNormMoments(mean, var)``, float64 scalars.

  Raises:
    ValueError: if ``widths`` is empty or holds a non-positive or non-integer width.

  Examples:
    >>> from jaxinit import theory
    >>> m = theory.relu_log_norm_moments([100] * 10)
    >>> print(f"{m.mean:.3f} {m.var:.3f}")
    -0.250 0.500

  References:
    Hanin & Nica, Products of Many Large Random Matrices and Gradients in Deep Neural
    Networks, 2019; Hanin & Rolnick, How to Start Training: The Effect of Initialization
    and Architecture, 2018.
  """
  where = "relu_log_norm_moments"
  try:
    ns = [w for w in widths]
  except TypeError as e:
    raise ValueError(f"{where}: widths={widths!r} must be a sequence of positive ints") from e
  if not ns or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
                       for n in ns):
    raise ValueError(f"{where}: widths={widths!r} must be a non-empty sequence of positive ints")
  counts: dict[int, int] = {}
  for n in ns:
    counts[int(n)] = counts.get(int(n), 0) + 1
  with jax.enable_x64(True):
    if not exact:
      beta = sum(c / n for n, c in counts.items())
      return LogNormMoments(jnp.float64(-2.5 * beta), jnp.float64(5.0 * beta))
    mean, var = jnp.float64(0.0), jnp.float64(0.0)
    for n, repeats in counts.items():
      layer_mean, layer_var = _relu_layer_log_moments(n)
      mean, var = mean + repeats * layer_mean, var + repeats * layer_var
    return LogNormMoments(mean, var)


@functools.partial(jax.jit, static_argnums=0)
def _relu_layer_log_moments(n: int):
  """E and Var of log((2/n) chi2_K), K ~ Binomial(n, 1/2) conditioned on K > 0."""
  k = jnp.arange(1, n + 1, dtype=jnp.float64)
  gammaln = jax.scipy.special.gammaln
  log_pmf = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0) - n * math.log(2.0)
  weights = jnp.exp(log_pmf) / -jnp.expm1(-n * math.log(2.0))
  log_chi2_mean = jax.scipy.special.digamma(k / 2) + math.log(2.0)
  log_chi2_var = jax.scipy.special.polygamma(1, k / 2)
  mean = jnp.sum(weights * log_chi2_mean)
  var = jnp.sum(weights * (log_chi2_var + (log_chi2_mean - mean) ** 2))
  return mean + math.log(2.0 / n), var
