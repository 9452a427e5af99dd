"""Mean-field theory of deep networks at initialisation: signal propagation you can check.

Fully connected layers ``h^l = W^l x^{l-1} + b^l``, ``x^l = phi(h^l)`` with
``Var W = sigma_w2 / fan_in`` and ``Var b = sigma_b2``, in the infinite-width limit
(Poole et al. 2016; Schoenholz et al. 2017), plus the Jacobian spectrum (Pennington et al.
2017) and the finite-width law of ReLU nets (Hanin & Nica 2019).

Conventions shared by every function:

* ``q`` is the per-unit second moment of pre-activations. A trajectory ``q`` of shape
  ``(depth + 1,)`` holds ``q[0] = q0`` for the first layer's pre-activations ``h^1`` and
  ``q[k]`` for ``h^{k+1}``: ``depth`` is the number of maps applied.
* ``activation`` is static: a name known to ``jaxinit`` (``"relu"``, ``"leaky_relu"`` with
  ``param`` = slope, ``"tanh"``, ``"selu"``, ...) or a hashable elementwise callable.
  ReLU, leaky ReLU, identity and erf use closed forms (arc-cosine and arcsine kernels);
  every other activation, and every callable, uses Gauss-Legendre quadrature split where
  the pre-activation crosses 0, with panels at both the Gaussian's scale and the
  activation's, exact to rounding for every named activation at any q. A callable must be
  elementwise; one the 1-D rule does not resolve at the q reached (an oscillating or
  far-kinked function) raises ``ValueError``, as does a correlation map without a closed
  form that reaches q > 50 (its 2-D rule is accurate below). An overflowing q is ``inf``,
  never nan, and the slopes downstream take their limits as q -> inf.
* ``sigma_w2``, ``sigma_b2``, ``q0`` and ``c0`` are traced scalars: every function works under
  ``jax.jit`` and ``jax.vmap``, and array arguments broadcast against each other (the result
  gains their shape in front). Layers run in ``lax.scan``, so compile time does not grow
  with ``depth``.
* Everything is computed in float64 under a local ``jax.enable_x64(True)``; results are
  float64 arrays even when x64 is off globally. Inside a caller's ``jax.jit`` with x64 off
  the theory still runs in float64 and hands back a float64 tracer, which jax narrows to
  float32 as soon as it meets the caller's float32 values (under strict dtype promotion,
  cast it explicitly). Outside jit with x64 off, jax arithmetic on the float64 results
  warns and truncates to float32: read them with ``np.asarray`` or ``float``.
* Arguments are checked at call time: a bad activation, ``depth``, widths, a negative or
  non-finite variance or ``c0`` outside [-1, 1] raise ``ValueError`` naming the parameter.
  Traced values cannot be checked; the theory then returns nan where it is undefined.
"""
# ruff: noqa: I001  (the door is grouped by subject, not sorted by module)

# Results
from jaxinit.theory._finite_width import LogNormMoments as LogNormMoments
from jaxinit.theory._fixed_points import DepthScales as DepthScales
from jaxinit.theory._fixed_points import EdgeOfChaos as EdgeOfChaos
from jaxinit.theory._fixed_points import FixedPoint as FixedPoint
from jaxinit.theory._maps import NeuralTangentKernel as NeuralTangentKernel
from jaxinit.theory._spectrum import JacobianSpectrum as JacobianSpectrum

# Maps through depth: length, correlation, gradient, NTK
from jaxinit.theory._maps import cmap as cmap
from jaxinit.theory._maps import grad_map as grad_map
from jaxinit.theory._maps import ntk as ntk
from jaxinit.theory._maps import qmap as qmap

# Fixed points and the phase diagram: where q and c settle, how stable, how fast
from jaxinit.theory._fixed_points import chi1 as chi1
from jaxinit.theory._fixed_points import depth_scales as depth_scales
from jaxinit.theory._fixed_points import edge_of_chaos as edge_of_chaos
from jaxinit.theory._fixed_points import fixed_point as fixed_point
from jaxinit.theory._fixed_points import length_map_slope as length_map_slope

# The Jacobian spectrum (dynamical isometry)
from jaxinit.theory._spectrum import jacobian_spectrum_variance as jacobian_spectrum_variance

# Finite width: the log-normal law of deep ReLU nets
from jaxinit.theory._finite_width import relu_log_norm_moments as relu_log_norm_moments

__all__ = (
    "DepthScales",
    "EdgeOfChaos",
    "FixedPoint",
    "JacobianSpectrum",
    "LogNormMoments",
    "NeuralTangentKernel",
    "chi1",
    "cmap",
    "depth_scales",
    "edge_of_chaos",
    "fixed_point",
    "grad_map",
    "jacobian_spectrum_variance",
    "length_map_slope",
    "ntk",
    "qmap",
    "relu_log_norm_moments",
)
