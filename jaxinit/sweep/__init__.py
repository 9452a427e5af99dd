"""The JIT core: a jitted, vmapped simulation of signal propagation over scheme x activation x width x depth.

``jaxinit.sweep`` is also the function :func:`jaxinit.sweep`; this door holds what goes with it.
"""

# what a sweep will cost, before anything compiles (see estimate)
from jaxinit.sweep._budget import Estimate as Estimate

# the configuration: built and checked once, run by sweep, recorded by the result
from jaxinit.sweep._config import Scheme as Scheme
from jaxinit.sweep._config import SweepConfig as SweepConfig
from jaxinit.sweep._config import SweepConfigError as SweepConfigError

# the engines' unit draw, for measuring against (benchmarks/roofline.py)
from jaxinit.sweep._engines import standard_draw as standard_draw

# the result: data and verdicts
from jaxinit.sweep._result import SweepResult as SweepResult

# the simulator, and its estimate
from jaxinit.sweep._sweep import estimate as estimate
from jaxinit.sweep._sweep import sweep as sweep
