"""The maps through depth: length (q), correlation (c), backpropagated gradient and NTK.

Each public function checks its arguments, runs a jitted core (the activation and the
depth are static, the variances traced) in float64, and refuses a result whose quadrature
is not accurate: a callable the 1-D rule does not resolve at the q reached, or a
correlation map (2-D quadrature) that reaches q > 50 for an activation without a closed form.

References:
  Poole et al., Exponential expressivity in deep neural networks through transient chaos, 2016;
  Schoenholz, Gilmer, Ganguli & Sohl-Dickstein, Deep Information Propagation, 2017.
"""

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxinit.theory import _checks
from jaxinit.theory._kernels import Q2_MAX, kernels


class NeuralTangentKernel(NamedTuple):
  """Per-layer NTK of one input with itself and of two inputs, shapes ``(depth + 1,)``."""
  diagonal: jax.Array
  off_diagonal: jax.Array


_jit = functools.partial(jax.jit, static_argnums=(0, 1))


def accuracy(spec, k, qs, *, two_d: bool):
  """(valid, q_max) for maps evaluated at the q values ``qs`` (one per layer applied).

  ``valid[l]`` says every layer before ``l`` had accurate quadrature (``valid[0]`` is True):
  named activations are exact on the 1-D rule at every q (tested against scipy); a callable
  is checked against the refined rule. The 2-D rule of the correlation map is accurate
  for q <= Q2_MAX unless a closed form replaces it.
  """
  good = jnp.ones(qs.shape, bool)
  if _checks.is_callable_spec(spec) and qs.size:
    good = jax.vmap(k.resolved)(qs)
  if two_d and not k.closed_form_2d:
    good = good & (qs <= Q2_MAX)
  valid = jnp.concatenate([jnp.ones(1, bool), jnp.cumsum(~good) == 0])
  return valid, (jnp.max(qs) if qs.size else jnp.float64(0.0))


def next_q(k, sigma_w2, sigma_b2, q):
  """One layer of the length map; an overflowed q (inf, from a growing phi) stays inf."""
  return jnp.where(jnp.isinf(q), jnp.inf, k.next_q(sigma_w2, sigma_b2, q))


@_jit
def _qmap_core(spec, depth, sigma_w2, sigma_b2, q0):
  k = kernels(spec)

  def layer(q, _):
    q_next = next_q(k, sigma_w2, sigma_b2, q)
    return q_next, q_next

  _, qs = lax.scan(layer, q0, None, length=depth)
  qs = jnp.concatenate([q0[None], qs])
  return qs, *accuracy(spec, k, qs[:-1], two_d=False)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _pair_core(spec, depth, with_ntk, sigma_w2, sigma_b2, q0, c0):
  """Per layer c (and the NTK pair when with_ntk) for two inputs with equal q, via 1 - c."""
  k = kernels(spec)

  def layer(state, _):
    q, delta, theta_aa, theta_ab = state
    q_next = next_q(k, sigma_w2, sigma_b2, q)
    delta_next = k.next_delta(sigma_w2, sigma_b2, q, delta)
    if with_ntk:
      theta_aa = q_next + sigma_w2 * theta_aa * k.slope_var(q)
      theta_ab = q_next * (1.0 - delta_next) + sigma_w2 * theta_ab * k.slope_cov(q, delta)
    state = (q_next, delta_next, theta_aa, theta_ab)
    return state, state

  start = (q0, 1.0 - c0, q0, q0 * c0)
  _, trail = lax.scan(layer, start, None, length=depth)
  qs, delta, theta_aa, theta_ab = (jnp.concatenate([x[None], xs])
                                   for x, xs in zip(start, trail, strict=True))
  return (1.0 - delta, theta_aa, theta_ab), *accuracy(spec, k, qs[:-1], two_d=True)


@_jit
def _grad_core(spec, depth, sigma_w2, sigma_b2, q0, width_ratios):
  k = kernels(spec)
  qs, valid, q_max = _qmap_core(spec, depth, sigma_w2, sigma_b2, q0)
  gains = sigma_w2 * jax.vmap(k.slope_var)(qs[:-1]) * width_ratios
  # log-space reverse cumulative product: each layer's factor applied once, no unrolling
  log_tail = jnp.cumsum(jnp.log(gains)[::-1])[::-1]
  return jnp.exp(jnp.concatenate([log_tail, jnp.zeros(1)])), valid, q_max


@functools.partial(jax.jit, static_argnums=0)
def _resolved_at(spec, q):
  return kernels(spec).resolved(q)


def unresolved_message(where, activation, q_max, *, two_d: bool) -> str:
  """Why a result was refused: a callable the 1-D rule misses, or the 2-D rule's range."""
  q_max = float(np.max(np.asarray(q_max)))
  activation_spec = _checks.spec(activation, None, where) if callable(activation) else None
  if two_d and activation_spec is not None:
    with jax.enable_x64(True):
      two_d = bool(_resolved_at(activation_spec, jnp.float64(q_max)))
  if two_d:
    return (f"{where}: activation={activation!r}: the correlation map has no closed form and its "
            f"2-D quadrature is accurate for q <= {Q2_MAX:g}, but this call reaches q = "
            f"{q_max:.4g} (closed forms: relu, leaky_relu, identity, erf)")
  return (f"{where}: activation={activation!r} is not resolved by the Gaussian quadrature at "
          f"q = {q_max:.4g} (it oscillates, or has features far from 0 on the scale sqrt(q)); "
          "no accurate value can be given")


def _guarded(where, activation, result, valid, q_max, *, two_d: bool = False):
  return _checks.refuse_unresolved(
      result, valid[..., -1], lambda: unresolved_message(where, activation, q_max, two_d=two_d))


def layers(kind, activation, sigma_w2, sigma_b2, q0, depth, *, c0=1.0, param=None):
  """Unrefused per-layer ``qmap``, ``cmap`` or ``grad_map`` (``kind``) and where it is valid.

  For curves drawn against simulations: the layers before the quadrature leaves its range
  are kept, the rest are for the caller to blank. Arguments as the public functions.
  """
  spec = _checks.spec(activation, param, kind)
  if kind == "cmap":
    (values, _, _), valid, _ = _checks.float64_call(
        _pair_core, (spec, depth, False), sigma_w2, sigma_b2, q0, c0)
  elif kind == "grad_map":
    core = lambda *a: _grad_core(*a, jnp.ones(depth, jnp.float64))  # noqa: E731
    values, valid, _ = _checks.float64_call(core, (spec, depth), sigma_w2, sigma_b2, q0)
  else:
    values, valid, _ = _checks.float64_call(_qmap_core, (spec, depth), sigma_w2, sigma_b2, q0)
  return values, valid


def qmap(activation, sigma_w2, sigma_b2, q0, depth: int, *, param: float | None = None) -> jax.Array:
  r"""Per-layer second moment of pre-activations (the length map).

  .. math::
    q^{l+1} = \sigma_w^2 \, E_z[\phi(\sqrt{q^l} z)^2] + \sigma_b^2

  Args:
    activation: name (``"tanh"``, ``"relu"``, ``"leaky_relu"``, ...) or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    q0: second moment of the first layer's pre-activations, ``sigma_w2 |x|^2 / N_0 + sigma_b2``.
    depth: number of maps to apply (static).
    param: negative slope for ``"leaky_relu"``.

  Returns:
    float64 array of shape ``(depth + 1,)`` (after any broadcast shape of the scalars):
    ``q[0] = q0`` and ``q[k]`` is the second moment of ``h^{k+1}``.

  Raises:
    ValueError: for an unknown activation, ``depth < 0``, or a negative ``sigma_w2``,
      ``sigma_b2`` or ``q0``.

  Examples:
    >>> from jaxinit import theory
    >>> print(theory.qmap("relu", 2.0, 0.1, 1.0, 3))
    [1.  1.1 1.2 1.3]

  References:
    Poole et al., Exponential expressivity in deep neural networks through transient
    chaos, 2016.
  """
  where = "qmap"
  spec = _checks.spec(activation, param, where)
  depth = _checks.check_depth(depth, where)
  for name, value in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2), ("q0", q0)):
    _checks.check_range(value, name, where)
  qs, valid, q_max = _checks.float64_call(_qmap_core, (spec, depth), sigma_w2, sigma_b2, q0)
  return _guarded(where, activation, qs, valid, q_max)


def cmap(activation, sigma_w2, sigma_b2, q0, c0, depth: int, *,
         param: float | None = None) -> jax.Array:
  r"""Per-layer correlation of two inputs whose pre-activations share the second moment q.

  .. math::
    c^{l+1} = \frac{\sigma_w^2 E[\phi(u_1) \phi(u_2)] + \sigma_b^2}{q^{l+1}}, \quad
    u_1 = \sqrt{q^l} z_1, \; u_2 = \sqrt{q^l} (c^l z_1 + \sqrt{1 - (c^l)^2} z_2)

  with ``q^l`` following :func:`qmap`. Internally ``1 - c`` is propagated
  (as ``E[(phi(u1) - phi(u2))^2] / 2``), so it stays accurate far below float64's
  resolution of ``c`` near 1.

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    q0: second moment of both inputs' first-layer pre-activations.
    c0: their correlation, in [-1, 1].
    depth: number of maps to apply (static).
    param: negative slope for ``"leaky_relu"``.

  Returns:
    float64 array of shape ``(depth + 1,)``: ``c[0] = c0``, ``c[k]`` the correlation of
    ``h^{k+1}``.

  Raises:
    ValueError: for an unknown activation, ``depth < 0``, a negative variance or ``q0``,
      or ``c0`` outside [-1, 1].

  Examples:
    >>> from jaxinit import theory
    >>> c = theory.cmap("relu", 2.0, 0.0, 1.0, 0.0, 2)
    >>> print(c.round(4))
    [0.     0.3183 0.4937]

  References:
    Poole et al., Exponential expressivity in deep neural networks through transient
    chaos, 2016; Cho & Saul, Kernel methods for deep learning, 2009.
  """
  where = "cmap"
  spec = _checks.spec(activation, param, where)
  depth = _checks.check_depth(depth, where)
  for name, value in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2), ("q0", q0)):
    _checks.check_range(value, name, where)
  _checks.check_range(c0, "c0", where, -1.0, 1.0)
  (c, _, _), valid, q_max = _checks.float64_call(
      _pair_core, (spec, depth, False), sigma_w2, sigma_b2, q0, c0)
  return _guarded(where, activation, c, valid, q_max, two_d=True)


def ntk(activation, sigma_w2, sigma_b2, q0, c0, depth: int, *,
        param: float | None = None) -> NeuralTangentKernel:
  r"""Per-layer neural tangent kernel (NTK parametrisation) of two inputs with equal q.

  .. math::
    \Theta^{l+1} = q_{ab}^{l+1} + \sigma_w^2 \, \Theta^l \, E[\phi'(u_1) \phi'(u_2)],
    \quad \Theta^1 = q_{ab}^1

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    q0: second moment of both inputs' first-layer pre-activations.
    c0: their correlation, in [-1, 1].
    depth: number of maps to apply (static).
    param: negative slope for ``"leaky_relu"``.

  Returns:
    ``NeuralTangentKernel(diagonal, off_diagonal)``, each float64 of shape
    ``(depth + 1,)``, index k for the kernel of ``h^{k+1}``: ``diagonal[0] = q0`` and
    ``off_diagonal[0] = q0 c0``.

  Raises:
    ValueError: as :func:`cmap`.

  Examples:
    >>> from jaxinit import theory
    >>> print(theory.ntk("relu", 2.0, 0.0, 1.0, 1.0, 3).diagonal)
    [1. 2. 3. 4.]

  References:
    Jacot, Gabriel & Hongler, Neural Tangent Kernel: Convergence and Generalization in
    Neural Networks, 2018.
  """
  where = "ntk"
  spec = _checks.spec(activation, param, where)
  depth = _checks.check_depth(depth, where)
  for name, value in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2), ("q0", q0)):
    _checks.check_range(value, name, where)
  _checks.check_range(c0, "c0", where, -1.0, 1.0)
  (_, diagonal, off_diagonal), valid, q_max = _checks.float64_call(
      _pair_core, (spec, depth, True), sigma_w2, sigma_b2, q0, c0)
  return _guarded(where, activation, NeuralTangentKernel(diagonal, off_diagonal), valid, q_max, two_d=True)


def grad_map(activation, sigma_w2, sigma_b2, q0, depth: int, *,
             widths: Sequence[float] | None = None, param: float | None = None) -> jax.Array:
  r"""Per-layer second moment of the backpropagated error, relative to the last layer.

  .. math::
    \tilde q^l = \tilde q^{l+1} \, \sigma_w^2 \, E[\phi'(\sqrt{q^l} z)^2] \, N_{l+1} / N_l,
    \qquad \delta^l = \partial L / \partial h^l

  along the forward trajectory of :func:`qmap` (``Var W^{l+1} = sigma_w2 / N_l``).

  Args:
    activation: name or hashable callable.
    sigma_w2: weight variance times fan-in.
    sigma_b2: bias variance.
    q0: second moment of the first layer's pre-activations.
    depth: number of maps (static): pre-activation layers ``h^1 .. h^{depth+1}``.
    widths: optional widths ``N_1 .. N_{depth+1}`` of those layers (length ``depth + 1``);
      default equal widths.
    param: negative slope for ``"leaky_relu"``.

  Returns:
    float64 array ``g`` of shape ``(depth + 1,)`` with ``g[k] = qtilde(h^{k+1}) /
    qtilde(h^{depth+1})``: the last entry is 1 and ``g[0]`` is the gain from the output
    back to the first layer (> 1 exploding, < 1 vanishing). The gradient of
    ``W^{k+1}`` has second moment proportional to ``g[k] E[x_k^2]`` (``x_0`` the input,
    ``x_k = phi(h^k)``).

  Raises:
    ValueError: for an unknown activation, ``depth < 0``, a negative variance or ``q0``,
      or widths of the wrong length or not positive.

  Examples:
    >>> from jaxinit import theory
    >>> print(theory.grad_map("relu", 2.0, 0.0, 1.0, 3, widths=[100, 200, 200, 100]))
    [1.  0.5 0.5 1. ]

  References:
    Schoenholz, Gilmer, Ganguli & Sohl-Dickstein, Deep Information Propagation, 2017.
  """
  where = "grad_map"
  spec = _checks.spec(activation, param, where)
  depth = _checks.check_depth(depth, where)
  for name, value in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2), ("q0", q0)):
    _checks.check_range(value, name, where)
  if widths is None:
    ratios = np.ones(depth)
  else:
    n = np.asarray(widths, dtype=np.float64)
    if n.shape != (depth + 1,) or not np.all(np.isfinite(n) & (n > 0)):
      raise ValueError(f"{where}: widths={widths!r} must be {depth + 1} positive numbers "
                       f"(N_1 .. N_{{depth+1}}) for depth={depth}")
    ratios = n[1:] / n[:-1]

  def core(spec, depth, sigma_w2, sigma_b2, q0):
    return _grad_core(spec, depth, sigma_w2, sigma_b2, q0, jnp.asarray(ratios, jnp.float64))

  g, valid, q_max = _checks.float64_call(core, (spec, depth), sigma_w2, sigma_b2, q0)
  return _guarded(where, activation, g, valid, q_max)
