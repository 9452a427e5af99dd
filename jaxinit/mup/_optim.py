"""muP for optax: per-role learning-rate factors as one transformation to chain, and muP Adam and SGD."""

from collections.abc import Callable

import jax
import optax

from jaxinit.mup import _rules
from jaxinit.mup._roles import ParamRoles


def _check_kind(optimizer, where: str) -> str:
  if optimizer not in _rules.OPTIMIZER_KINDS:
    raise ValueError(f"{where}: optimizer={optimizer!r} must be 'adam' (Adam-like: entrywise normalised "
                     "updates) or 'sgd' (SGD-like: updates proportional to the gradient)")
  return optimizer


def scale_by_width(roles, width_mult: float | None = None, *,
                   optimizer: str = "adam") -> optax.GradientTransformation:
  r"""Multiplies each parameter's update by its muP learning-rate factor; chain it after an optimizer.

  Factors (Yang et al. 2022, Table 3, with width multipliers ``m = fan / base fan``):
  Adam-like: input 1, hidden ``1/m_in``, output ``1/m_in``; SGD-like: input ``m_out``,
  hidden ``m_out/m_in``, output ``1/m_in``; fixed 1. Built on ``optax.multi_transform`` of
  ``optax.scale``, so it adds no state.

  Args:
    roles: a :class:`ParamRoles` from :func:`infer_roles` (multipliers per parameter), or a
      pytree of role names ``"input"``, ``"hidden"``, ``"output"``, ``"fixed"`` (or a
      function params -> such a pytree), with one ``width_mult`` for all.
    width_mult: width / base width, >= 1, with a role pytree; None with :class:`ParamRoles`.
    optimizer: ``"adam"`` or ``"sgd"``: how the chained optimizer's update scales.

  Returns:
    An ``optax.GradientTransformation``.

  Raises:
    ValueError: an unknown role or optimizer kind, a missing or extra ``width_mult``, or a
      ``width_mult`` below 1 (the base width larger than the width).

  Examples:
    >>> import jax.numpy as jnp, optax, jaxinit
    >>> params = {"inp": jnp.ones((3, 8)), "hid": jnp.ones((8, 8)), "out": jnp.ones((8, 1))}
    >>> roles = {"inp": "input", "hid": "hidden", "out": "output"}
    >>> tx = optax.chain(optax.sgd(1.0), jaxinit.mup.scale_by_width(roles, 4.0, optimizer="sgd"))
    >>> updates, _ = tx.update(params, tx.init(params))
    >>> [float(updates[k][0, 0]) for k in ("inp", "hid", "out")]
    [-4.0, -1.0, -0.25]

  References:
    Yang et al., Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer, 2022.
  """
  where = "scale_by_width"
  kind = _check_kind(optimizer, where)
  if isinstance(roles, ParamRoles):
    if width_mult is not None:
      raise ValueError(f"{where}: width_mult={width_mult!r} must be None with ParamRoles "
                       "(they carry the multipliers)")
    factors, labels = roles.factor_labels(kind)
  else:
    if width_mult is None:
      raise ValueError(f"{where}: width_mult is required with a role pytree (width / base width)")
    m = _rules.check_mult(width_mult, "width_mult", where)
    if not callable(roles):
      for role in jax.tree.leaves(roles):
        _rules.check_role(role, where)
    factors = {role: _rules.learning_rate_factor(role, m, m, kind) for role in _rules.ROLES}
    labels = roles
  transforms = {label: optax.scale(f) if f != 1.0 else optax.identity() for label, f in factors.items()}
  return optax.multi_transform(transforms, labels)


def _chained(base: Callable, kind: str, learning_rate, roles, width_mult,
             kwargs) -> optax.GradientTransformation:
  scaling = scale_by_width(roles, width_mult, optimizer=kind)  # checked first: bad roles fail here
  return optax.chain(base(learning_rate, **kwargs), scaling)


def adam(learning_rate, roles, width_mult: float | None = None, **kwargs) -> optax.GradientTransformation:
  """``optax.adam`` with muP learning rates: ``chain(optax.adam(lr, **kwargs), scale_by_width(..., "adam"))``.

  The counterpart of Microsoft mup's ``MuAdam``: hidden and readout rates ``lr / m_in``.

  Args:
    learning_rate: a float or an optax schedule, tuned at the base width.
    roles: a :class:`ParamRoles` or a role pytree (see :func:`scale_by_width`).
    width_mult: width / base width with a role pytree; None with :class:`ParamRoles`.
    **kwargs: passed to ``optax.adam`` (b1, b2, eps, ...).

  Returns:
    An ``optax.GradientTransformation``.

  Raises:
    ValueError: as :func:`scale_by_width`.

  Examples:
    >>> import jaxinit
    >>> tx = jaxinit.mup.adam(1e-3, {"w": "hidden"}, width_mult=4.0)

  References:
    Yang et al., Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer, 2022.
  """
  return _chained(optax.adam, "adam", learning_rate, roles, width_mult, kwargs)


def sgd(learning_rate, roles, width_mult: float | None = None, **kwargs) -> optax.GradientTransformation:
  """``optax.sgd`` with muP learning rates: ``chain(optax.sgd(lr, **kwargs), scale_by_width(..., "sgd"))``.

  The counterpart of Microsoft mup's ``MuSGD``: input rates ``lr m_out``, readout ``lr / m_in``.

  Args:
    learning_rate: a float or an optax schedule, tuned at the base width.
    roles: a :class:`ParamRoles` or a role pytree (see :func:`scale_by_width`).
    width_mult: width / base width with a role pytree; None with :class:`ParamRoles`.
    **kwargs: passed to ``optax.sgd`` (momentum, nesterov).

  Returns:
    An ``optax.GradientTransformation``.

  Raises:
    ValueError: as :func:`scale_by_width`.

  Examples:
    >>> import jaxinit
    >>> tx = jaxinit.mup.sgd(0.1, {"w": "hidden"}, width_mult=4.0, momentum=0.9)

  References:
    Yang et al., Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer, 2022.
  """
  return _chained(optax.sgd, "sgd", learning_rate, roles, width_mult, kwargs)
