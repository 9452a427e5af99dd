"""Mean-field predictions for a sweep's configurations: what SweepResult.theory() returns."""

from typing import NamedTuple

import numpy as np

from jaxinit.core import _activations
from jaxinit.theory import _maps as theory


class TheoryCurves(NamedTuple):
  """Infinite-width predictions, each of shape (scheme, activation, width, layer) in float64.

  ``log_q``, ``log_m`` and ``corr`` match the SweepResult fields of the same name (in
  expectation, at infinite width); ``log_grad`` is relative to layer 1, like
  ``log_grad - log_grad[..., :1]``. Layers past the range of the theory's quadrature
  (a correlation map without closed form beyond q = 50, a callable not resolved at the q
  reached) are nan.
  """
  log_q: np.ndarray
  log_m: np.ndarray
  corr: np.ndarray
  log_grad: np.ndarray


def _theory_activation(name: str, fn, param):
  """A registry name (closed forms where they exist) when the label is one, else the callable."""
  try:
    resolved = _activations.resolve(name, param)
  except ValueError:
    return fn, None
  return (name, param) if resolved.fn is fn or name == "leaky_relu" else (fn, None)


def theory_curves(result) -> TheoryCurves:
  if result.architecture != "mlp":
    raise ValueError(f"theory: architecture={result.architecture!r}; the mean-field maps cover 'mlp'")
  depth = int(np.asarray(result.log_q).shape[-1])
  sw2 = np.asarray(result.sigma_w2, dtype=np.float64)  # (scheme, width)
  sb2 = np.square(np.asarray(result.bias_stds, dtype=np.float64))[:, None]  # (scheme, 1): each its own biases
  m0 = 1.0  # inputs have i.i.d. N(0, 1) entries
  q1 = sw2 * m0 + sb2
  c1 = (sw2 * result.input_correlation * m0 + sb2) / np.where(q1 > 0, q1, 1.0)
  shape = (len(result.schemes), len(result.activations), len(result.widths), depth)
  out = {k: np.zeros(shape) for k in TheoryCurves._fields}
  with np.errstate(divide="ignore", invalid="ignore"):
    for j, (name, fn, param) in enumerate(zip(result.activations, result.activation_fns,
                                              result.activation_params, strict=True)):
      act, p = _theory_activation(name, fn, param)
      q = _blank(*theory.layers("qmap", act, sw2, sb2, q1, depth, param=p))  # (..., depth + 1)
      out["log_q"][:, j] = np.log(q[..., :depth])
      out["log_m"][:, j] = np.log((q[..., 1:] - sb2[..., None]) / sw2[..., None] / m0)
      out["corr"][:, j] = _blank(*theory.layers("cmap", act, sw2, sb2, q1, depth - 1, c0=c1, param=p))
      g = _blank(*theory.layers("grad_map", act, sw2, sb2, q1, depth - 1, param=p))
      out["log_grad"][:, j] = np.log(g[..., :1]) - np.log(g)
  return TheoryCurves(**out)


def _blank(values, valid):
  """nan from the first layer whose quadrature the theory could not vouch for."""
  return np.where(np.asarray(valid), np.asarray(values, dtype=np.float64), np.nan)
