"""The JIT core: a jitted, vmapped simulation of signal propagation over scheme x activation x width x depth."""

from jaxinit.sweep._result import SweepResult as SweepResult
from jaxinit.sweep._sweep import sweep as sweep
