"""Mean-field theory of deep networks at initialisation: signal propagation you can check.

The infinite-width theory the sweep is compared with (Poole et al. 2016; Schoenholz et al.
2017), the Jacobian spectrum (Pennington et al. 2017) and the finite-width law of ReLU nets
(Hanin & Nica 2019). Every function is jittable and computes in float64.
"""

# Results
from jaxinit.theory._mean_field import DepthScales as DepthScales
from jaxinit.theory._mean_field import EdgeOfChaos as EdgeOfChaos
from jaxinit.theory._mean_field import FixedPoint as FixedPoint
from jaxinit.theory._mean_field import JacobianSpectrum as JacobianSpectrum
from jaxinit.theory._mean_field import LogNormMoments as LogNormMoments
from jaxinit.theory._mean_field import NeuralTangentKernel as NeuralTangentKernel

# Maps through depth: length, correlation, gradient, NTK
from jaxinit.theory._mean_field import cmap as cmap
from jaxinit.theory._mean_field import grad_map as grad_map
from jaxinit.theory._mean_field import ntk as ntk
from jaxinit.theory._mean_field import qmap as qmap

# Fixed points and the phase diagram
from jaxinit.theory._mean_field import chi1 as chi1
from jaxinit.theory._mean_field import depth_scales as depth_scales
from jaxinit.theory._mean_field import edge_of_chaos as edge_of_chaos
from jaxinit.theory._mean_field import fixed_point as fixed_point

# Spectra and finite width
from jaxinit.theory._mean_field import jacobian_spectrum_variance as jacobian_spectrum_variance
from jaxinit.theory._mean_field import relu_log_norm_moments as relu_log_norm_moments

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
    "ntk",
    "qmap",
    "relu_log_norm_moments",
)
