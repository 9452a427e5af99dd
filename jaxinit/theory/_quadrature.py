"""Gauss-Legendre rules for Gaussian expectations of activations, at every scale of q.

E[f(sqrt(q) z)], z ~ N(0, 1), has two length scales: the Gaussian's (z of order 1) and the
activation's (|u| = sqrt(q) |z| of order 1, where tanh bends and GELU turns). A fixed rule in
z resolves only the first, and misses the second once q is far from 1 (at q = 1e6 tanh
is a step of width 1e-3 in z). The 1-D rule here puts panel edges at both scales on each
half-line: z = 0.5, 1, ..., 11.5 for the Gaussian and u = 2^-6, ..., 2^8 for the activation,
12 Gauss-Legendre nodes per panel. Against adaptive scipy quadrature it is exact to rounding
(relative error < 1e-14) for every named activation from q = 1e-8 to 1e8; the split at
z = 0 handles the kink of ReLU, ELU and SELU. An activation with features far from the
origin, or one that oscillates (``jnp.sin`` at large q), is not resolved: :func:`resolved`
detects that by comparing against the same rule with every panel halved.

The 2-D rule for the correlation map lives with the kernels; it is accurate for q <= 50.
"""

import math

import jax.numpy as jnp
import numpy as np

Z_MAX = 13.0  # the normal density there is 5e-38: below float64 resolution of any E[f]
NODES_PER_PANEL = 12
GAUSSIAN_EDGES = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.5, 10.0, 11.5])
ACTIVATION_EDGES = 2.0 ** np.arange(-6, 9)  # in u = sqrt(q) z
_LEG_X, _LEG_W = np.polynomial.legendre.leggauss(NODES_PER_PANEL)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
RESOLVED_RTOL = 1e-9  # a callable's expectations must agree this well under refinement


def normal_rule(root_q, *, refine: bool = False):
  """Nodes z and weights w with ``sum(w f(sqrt(q) z)) = E[f(sqrt(q) z)]`` for ``root_q = sqrt(q)``.

  Both half-lines, ``2 * 30 * 12`` nodes (twice that with ``refine``, each panel halved).
  Traceable: the panel edges depend on ``root_q``.
  """
  scaled = ACTIVATION_EDGES / jnp.maximum(root_q, 1e-300)
  edges = jnp.sort(jnp.clip(jnp.concatenate([jnp.array([0.0, Z_MAX]), GAUSSIAN_EDGES, scaled]),
                            0.0, Z_MAX))
  if refine:
    edges = jnp.sort(jnp.concatenate([edges, 0.5 * (edges[1:] + edges[:-1])]))
  lo, hi = edges[:-1, None], edges[1:, None]
  z = ((lo + hi) / 2 + (hi - lo) / 2 * _LEG_X).reshape(-1)
  w = ((hi - lo) / 2 * _LEG_W).reshape(-1) * jnp.exp(-0.5 * z * z) / _SQRT_2PI
  return jnp.concatenate([-z, z]), jnp.concatenate([w, w])


def normal_mean(integrand, root_q, *, refine: bool = False):
  """E[integrand(sqrt(q) z)], z ~ N(0, 1)."""
  z, w = normal_rule(root_q, refine=refine)
  return jnp.sum(w * integrand(root_q * z))


def resolved(integrand, root_q):
  """Whether the rule resolves ``E[integrand]`` at this scale: it agrees with its refinement."""
  coarse = normal_mean(integrand, root_q)
  fine = normal_mean(integrand, root_q, refine=True)
  return jnp.abs(coarse - fine) <= RESOLVED_RTOL * jnp.maximum(jnp.abs(coarse), jnp.abs(fine))
