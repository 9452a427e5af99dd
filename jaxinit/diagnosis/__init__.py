"""Diagnosing and calibrating a Flax model's initialization: jaxinit.diagnose, jaxinit.calibrate."""

# Diagnosis: one jitted forward and backward pass, one row per parametrised layer, warnings with fixes
# Calibration: layer-sequential unit variance (LSUV)
from jaxinit.diagnosis._calibrate import Calibration as Calibration
from jaxinit.diagnosis._calibrate import CalibrationStep as CalibrationStep
from jaxinit.diagnosis._calibrate import calibrate as calibrate
from jaxinit.diagnosis._diagnose import diagnose as diagnose
from jaxinit.diagnosis._diagnose import half_squared_output as half_squared_output

# Einsum kernels: fans from the einsum string
from jaxinit.diagnosis._einsum import einsum_init as einsum_init
from jaxinit.diagnosis._layers import EinsumAxes as EinsumAxes
from jaxinit.diagnosis._layers import einsum_axes as einsum_axes
from jaxinit.diagnosis._result import Diagnosis as Diagnosis
from jaxinit.diagnosis._result import DiagnosisWarning as DiagnosisWarning
from jaxinit.diagnosis._result import LayerRow as LayerRow
from jaxinit.diagnosis._rules import Thresholds as Thresholds
