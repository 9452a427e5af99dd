"""Activations by name, and Gaussian expectations of them by quadrature split at the kink.

Every named activation is smooth except at 0 (relu, leaky_relu, elu, selu), so the
standard-normal integral is split at z = 0 and each half-line is integrated with
Gauss-Legendre nodes on [0, Z_MAX]. Plain Gauss-Hermite converges only algebraically
across a kink; split Gauss-Legendre is exact to float64 rounding for these functions.
"""

import functools
import math
import weakref
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Z_MAX = 13.0  # the normal density there is 5e-38: below float64 resolution of any E[phi^2]
N_HALF = 160  # Gauss-Legendre nodes per half-line

SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772


class Activation(NamedTuple):
  """A resolved activation: a display name, an elementwise jnp function, and its parameter."""
  name: str
  fn: Callable[[jax.Array], jax.Array]
  param: float | None = None


@functools.lru_cache(maxsize=64)
def _leaky(slope: float):
  # cached: one function object per slope, so compiled programs keyed on it are reused
  return lambda x: jnp.where(x >= 0, x, slope * x)


def _mish(x):
  return x * jnp.tanh(jax.nn.softplus(x))


_NAMED: dict[str, Callable[[jax.Array], jax.Array]] = {
    "identity": lambda x: x,
    "linear": lambda x: x,
    "relu": jax.nn.relu,
    "elu": jax.nn.elu,
    "selu": lambda x: SELU_LAMBDA * jnp.where(x > 0, x, SELU_ALPHA * jnp.expm1(jnp.minimum(x, 0.0))),
    "gelu": jax.nn.gelu,  # jax's default: the tanh approximation
    "gelu_exact": lambda x: jax.nn.gelu(x, approximate=False),
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "softplus": jax.nn.softplus,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "erf": jax.scipy.special.erf,
    "mish": _mish,
}
ACTIVATION_NAMES = tuple(sorted([*_NAMED, "leaky_relu"]))
# Linear with slope 1/2 near 0 and ReLU-like far out: without biases the length map's slope is
# sigma_w^2 / 4 near q = 0 and sigma_w^2 / 2 for large q, so q -> 0 below sigma_w^2 of about 2-4 and runs
# away above 2, and no bias-free variance-scaling init keeps a deep plain MLP's signal (with biases the
# network is ordered and inputs collapse). A residual branch scale of 1/sqrt(depth), or normalisation,
# is needed (jaxinit.recommend shows both theory and simulation).
NO_DEPTH_STABLE_INIT = ("gelu", "gelu_exact", "silu", "swish", "mish")


def resolve(activation, param: float | None = None, *, where: str = "activation") -> Activation:
  """Turns a name (``"relu"``, ``"leaky_relu"`` with ``param`` = slope, ...) or a callable into an Activation."""
  if isinstance(activation, Activation):
    return activation
  if callable(activation):
    check_elementwise(activation, where)
    name = getattr(activation, "__name__", None) or type(activation).__name__
    return Activation(name, activation, param)
  if not isinstance(activation, str):
    raise ValueError(f"{where}: activation={activation!r} must be a name or a callable")
  name = activation.lower()
  if name in ("leaky_relu", "leaky-relu"):
    slope = 0.01 if param is None else param
    if isinstance(slope, bool) or not isinstance(slope, (int, float)) or not math.isfinite(slope):
      raise ValueError(f"{where}: negative slope param={param!r} must be a finite number")
    return Activation("leaky_relu", _leaky(float(slope)), float(slope))
  if name not in _NAMED:
    raise ValueError(f"{where}: activation={activation!r} is unknown; expected a callable or one of "
                     f"{', '.join(ACTIVATION_NAMES)}")
  if param is not None:
    raise ValueError(f"{where}: activation={activation!r} takes no param (got param={param!r})")
  return Activation(name, _NAMED[name], None)


def registry_key(act: Activation) -> str | None:
  """A name standing for ``act.fn`` in any process: its registry name (with a leaky ReLU's slope), or None
  for a callable of the caller's own, which only its identity tells apart."""
  if act.param is not None and act.fn is _leaky(act.param):
    return f"leaky_relu:{act.param!r}"
  return next((name for name, fn in _NAMED.items() if act.fn is fn), None)


def _half_line_rule(n: int = N_HALF, z_max: float = Z_MAX) -> tuple[np.ndarray, np.ndarray]:
  x, w = np.polynomial.legendre.leggauss(n)
  z = (x + 1.0) * (z_max / 2.0)
  return z, w * (z_max / 2.0) * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def gauss_rule(n_half: int = N_HALF) -> tuple[np.ndarray, np.ndarray]:
  """Nodes z and weights w with sum(w f(z)) = E[f(Z)], Z ~ N(0, 1), split at 0 (float64 numpy)."""
  z, w = _half_line_rule(n_half)
  return np.concatenate([-z[::-1], z]), np.concatenate([w[::-1], w])


_PROBE = np.array([-7.0, -2.0, -0.5, 0.0, 0.25, 1.0, 3.0])
_ELEMENTWISE: "weakref.WeakSet" = weakref.WeakSet()  # callables that passed the probe


def check_elementwise(fn: Callable[[jax.Array], jax.Array], where: str = "activation") -> None:
  """Raises ``ValueError`` unless ``fn`` acts elementwise: same shape out, and each entry of
  ``fn(x)`` equal to ``fn`` applied to that entry alone (``jnp.sum``, ``x - x.mean()`` fail).

  The probe runs eagerly in float64 on seven points; an ``fn`` that cannot run on them fails too.
  A hashable ``fn`` that passed once is not probed again.
  """
  try:
    if fn in _ELEMENTWISE:
      return
  except TypeError:  # unhashable: probe every time
    pass
  _probe_elementwise(fn, where)
  try:
    _ELEMENTWISE.add(fn)
  except TypeError:
    pass


def _probe_elementwise(fn, where):
  # concrete even inside a caller's jit or vmap, where jnp operations would otherwise be staged
  with jax.enable_x64(True), jax.ensure_compile_time_eval():
    x = jnp.asarray(_PROBE, dtype=jnp.float64)
    try:
      together = np.asarray(fn(x), dtype=np.float64)
      one_by_one = np.asarray(jax.vmap(fn)(x), dtype=np.float64)
      as_matrix = np.asarray(fn(x.reshape(1, -1)), dtype=np.float64)
    except Exception as e:  # any failure to run on an array means it is not an activation
      raise ValueError(f"{where}: activation={fn!r} must be an elementwise function of a jnp "
                       f"array; calling it on shape {x.shape} failed: {e}") from e
  if together.shape != x.shape or one_by_one.shape != x.shape or as_matrix.shape != (1, x.size):
    raise ValueError(f"{where}: activation={fn!r} must be elementwise; it mapped shape {x.shape} "
                     f"to {together.shape}")
  for other in (one_by_one, as_matrix.reshape(-1)):
    if not np.allclose(together, other, rtol=1e-12, atol=0.0, equal_nan=True):
      raise ValueError(f"{where}: activation={fn!r} must be elementwise; its value at one entry "
                       "depends on the others")


def expect(fn: Callable[[jax.Array], jax.Array], q: float = 1.0) -> float:
  """E[fn(sqrt(q) Z)] in float64, Z ~ N(0, 1): a host-side value for factories and tables."""
  z, w = gauss_rule()
  with jax.enable_x64(True):
    vals = np.asarray(fn(jnp.asarray(math.sqrt(q) * z, dtype=jnp.float64)), dtype=np.float64)
  if vals.shape != z.shape:
    raise ValueError(f"activation must be elementwise; it mapped shape {z.shape} to {vals.shape}")
  return float(np.dot(w, vals))
