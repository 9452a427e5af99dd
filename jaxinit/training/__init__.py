"""Trainability probes: train every configuration at once and say which train, stall or diverge.

``jaxinit.trainability`` is the door; this subpackage also holds its result, the built-in
tasks and the heatmap.
"""

# Data: built-in tasks and user arrays
from jaxinit.training._data import Dataset as Dataset
from jaxinit.training._data import digits as digits
from jaxinit.training._data import mixture as mixture
from jaxinit.training._data import teacher as teacher

# Figures
from jaxinit.training._plots import heatmap as heatmap

# The probe and its result
from jaxinit.training._result import TrainabilityResult as TrainabilityResult
from jaxinit.training._train import trainability as trainability

__all__ = (
    "Dataset",
    "TrainabilityResult",
    "digits",
    "heatmap",
    "mixture",
    "teacher",
    "trainability",
)
