"""Trainability probes: train every configuration's MLP at once, one jitted program per width.

The orchestration is four steps: plan (check every argument, resolve schemes, activations,
data and optimizer, before anything compiles), compile (one program per width: a ``vmap``
over schemes x seeds x depths x learning rates of a ``lax.scan`` over steps), run, collect
(a :class:`TrainabilityResult`).
"""

import math
from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxinit.core import _activations
from jaxinit.initializers import _catalog, describe, variance_scaling
from jaxinit.training import _data, _program
from jaxinit.training._result import TrainabilityResult

DEFAULT_SCHEMES = ("he_normal", "lecun_normal")
DEFAULT_LEARNING_RATE = 0.01  # plain SGD on the built-in tasks: fast for shallow nets, stable at depth 100
LOSS_LIMIT = 1e30  # a minibatch loss above this (or non-finite) is diverged: float32 overflows soon after
PARAMETRIZATIONS = ("standard", "mup")
OPTIMIZERS = {"sgd": optax.sgd, "momentum": lambda rate: optax.sgd(rate, momentum=0.9), "adam": optax.adam,
              "adamw": optax.adamw}
# muP rates for these only: AdamW's decoupled decay would scale with the rate (mup's MuAdamW keeps lr x wd)
_MUP_KINDS = {optax.sgd: "sgd", optax.adam: "adam"}
_PROGRAMS: dict = {}
_MAX_PROGRAMS = 32


class _Scheme(NamedTuple):
  label: str
  init: Callable
  cache_key: object
  sigma_w2: float  # fan_in x Var(W) of a square kernel (nan when only a draw can tell)


class _Plan(NamedTuple):
  schemes: tuple[_Scheme, ...]
  activations: tuple[_activations.Activation, ...]
  depths: tuple[int, ...]
  widths: tuple[int, ...]
  data: _data.Dataset
  steps: int
  batch: int
  seeds: int
  learning_rates: tuple[float, ...]  # nan: the rate is inside the given optimizer
  make_optimizer: Callable  # learning rate (traced scalar) -> GradientTransformation
  optimizer_name: str
  optimizer_key: object  # what the compiled program depends on
  bias_std: float
  parametrization: str
  base_width: int | None
  key: jax.Array


# ---------------------------------------------------------------------------------- plan

def _check_int(value, name: str, minimum: int) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise ValueError(f"trainability: {name}={value!r} must be an int >= {minimum}")
  return int(value)


def _check_ints(values, name: str, minimum: int) -> tuple[int, ...]:
  if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
    values = (values,)
  try:
    out = tuple(values)
  except TypeError:
    raise ValueError(f"trainability: {name}={values!r} must be an int or a sequence of ints") from None
  if not out:
    raise ValueError(f"trainability: {name}={values!r} is empty")
  for v in out:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
      raise ValueError(f"trainability: {name}={values!r} must hold ints >= {minimum}; got {v!r}")
  return tuple(sorted({int(v) for v in out}))


def _check_floats(values, name: str, positive: bool) -> tuple[float, ...]:
  bound = "> 0" if positive else ">= 0"
  if isinstance(values, (int, float, np.number)) and not isinstance(values, bool):
    if not math.isfinite(values) or values < 0 or (positive and values == 0):
      raise ValueError(f"trainability: {name}={values!r} must be a finite number {bound}")
    values = (values,)
  try:
    out = tuple(values)
  except TypeError:
    raise ValueError(f"trainability: {name}={values!r} must be a number or a sequence of numbers") from None
  if not out:
    raise ValueError(f"trainability: {name}={values!r} is empty")
  for v in out:
    ok = isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and math.isfinite(v)
    if not ok or (positive and v <= 0) or v < 0:
      raise ValueError(f"trainability: {name}={values!r} must hold finite numbers {bound}; got {v!r}")
  return tuple(float(v) for v in out)


def _scheme(label: str, init: Callable, cache_key) -> _Scheme:
  spec = describe(init).spec
  try:
    sigma_w2 = float(spec.variance((64, 64)) * 64) if spec is not None else math.nan
  except (TypeError, jax.errors.ConcretizationTypeError):  # a traced scale
    sigma_w2 = math.nan
  return _Scheme(label, init, cache_key, sigma_w2)


def _resolve_schemes(schemes, sigma_w2) -> tuple[_Scheme, ...]:
  if schemes is None:
    schemes = () if sigma_w2 is not None else DEFAULT_SCHEMES
  if isinstance(schemes, (str, bytes)) or callable(schemes):
    schemes = (schemes,)
  items = list(schemes.items()) if isinstance(schemes, Mapping) else [(None, s) for s in schemes]
  out = []
  for label, s in items:
    if isinstance(s, str):
      out.append(_scheme(str(label or s), _catalog.lookup(s, where="trainability"), ("name", s)))
    elif callable(s):
      out.append(_scheme(str(label or getattr(s, "__name__", f"scheme{len(out)}")), s, ("object", s)))
    else:
      raise ValueError(f"trainability: schemes entry {s!r} must be a scheme name or an initializer")
  if sigma_w2 is not None:
    for v in _check_floats(sigma_w2, "sigma_w2", positive=True):
      init = variance_scaling(v, "fan_in", "normal")
      out.append(_Scheme(f"sigma_w2={v:g}", init, ("sigma_w2", v), v))
  labels = [s.label for s in out]
  if not labels:
    raise ValueError(f"trainability: schemes={schemes!r} is empty and no sigma_w2 grid was given")
  if len(set(labels)) != len(labels):
    raise ValueError(f"trainability: scheme labels {labels!r} repeat a label")
  return tuple(out)


def _resolve_activations(activations) -> tuple[_activations.Activation, ...]:
  if isinstance(activations, str) or callable(activations):
    activations = (activations,)
  if isinstance(activations, Mapping):
    acts = [_activations.resolve(fn, where="trainability")._replace(name=str(label))
            for label, fn in activations.items()]
  else:
    acts = [_activations.resolve(a, where="trainability") for a in activations]
  names = [a.name for a in acts]
  if not names or len(set(names)) != len(names):
    raise ValueError(f"trainability: activations={activations!r} is empty or repeats a name")
  return tuple(acts)


def _is_transformation(obj) -> bool:
  return isinstance(obj, optax.GradientTransformation) or (
      isinstance(obj, tuple) and len(obj) >= 2 and callable(getattr(obj, "init", None))
      and callable(getattr(obj, "update", None)))


def _resolve_optimizer(optimizer, learning_rate) -> tuple[Callable, tuple[float, ...], str, object]:
  """(rate -> transformation, the rates, a name, a cache key); anything else fails before compiling."""
  if optimizer is None or isinstance(optimizer, str):
    name = "sgd" if optimizer is None else optimizer
    if name not in OPTIMIZERS:
      raise ValueError(f"trainability: optimizer={optimizer!r} is unknown; expected one of "
                       f"{', '.join(OPTIMIZERS)}, an optax GradientTransformation, or a factory "
                       "learning_rate -> GradientTransformation")
    rates = _check_floats(DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate,
                          "learning_rate", positive=True)
    return OPTIMIZERS[name], rates, name, OPTIMIZERS[name]
  if _is_transformation(optimizer):
    if learning_rate is not None:
      raise ValueError(f"trainability: learning_rate={learning_rate!r} cannot be applied to an optimizer "
                       "that is already built; pass a factory such as optax.adam to sweep learning rates")
    return (lambda rate: optimizer), (math.nan,), "optax transformation", ("built", optimizer)
  if callable(optimizer):
    rates = _check_floats(DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate,
                          "learning_rate", positive=True)
    name = getattr(optimizer, "__name__", type(optimizer).__name__)
    try:
      built = optimizer(rates[0])
    except Exception as e:
      raise ValueError(f"trainability: optimizer={name!r} failed when called with a learning rate "
                       f"({e})") from None
    if not _is_transformation(built):
      raise ValueError(f"trainability: optimizer={name!r} called with a learning rate returned {built!r}, "
                       "not an optax GradientTransformation")
    return optimizer, rates, name, optimizer
  raise ValueError(f"trainability: optimizer={optimizer!r} is not an optax GradientTransformation or a "
                   "factory learning_rate -> GradientTransformation (such as optax.adam)")


def _check_scheme_shapes(plan_schemes, width: int, data: _data.Dataset) -> None:
  """Every scheme on every kernel shape of the MLP, by shapes only (nothing compiles)."""
  key = jax.eval_shape(lambda: jax.random.key(0))
  for s in plan_schemes:
    for shape in ((data.x_train.shape[1], width), (width, width), (width, data.outputs)):
      try:
        jax.eval_shape(lambda k, s=s, shape=shape: s.init(k, shape, jnp.float32), key)
      except (ValueError, TypeError) as e:
        raise ValueError(f"trainability: scheme {s.label!r} cannot draw a {shape} kernel: {e}") from None


def _check_key(key) -> jax.Array:
  if key is None:
    return jax.random.key(0)
  if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ():
    return key
  if isinstance(key, jax.Array) and key.dtype == jnp.uint32 and key.shape == (2,):  # a raw PRNGKey
    return jax.random.wrap_key_data(key)
  raise ValueError(f"trainability: key={key!r} must be one PRNG key (jax.random.key or jax.random.PRNGKey)")


def _plan(schemes, activations, depths, widths, *, sigma_w2, bias_std, data, steps, optimizer, learning_rate,
          batch, seeds, key, parametrization, base_width) -> _Plan:
  steps = _check_int(steps, "steps", 1)
  seeds = _check_int(seeds, "seeds", 1)
  depths, widths = _check_ints(depths, "depths", 1), _check_ints(widths, "widths", 1)
  if not (isinstance(bias_std, (int, float)) and not isinstance(bias_std, bool) and math.isfinite(bias_std)
          and bias_std >= 0):
    raise ValueError(f"trainability: bias_std={bias_std!r} must be a finite number >= 0")
  if parametrization not in PARAMETRIZATIONS:
    raise ValueError(f"trainability: parametrization={parametrization!r} must be one of {PARAMETRIZATIONS}")
  if parametrization == "mup":
    base_width = _check_int(base_width, "base_width", 1)
    if base_width > widths[0]:
      raise ValueError(f"trainability: base_width={base_width} is larger than the width {widths[0]}; "
                       "muP scales from a base width up")
  elif base_width is not None:
    raise ValueError(f"trainability: base_width={base_width!r} applies to parametrization='mup' only")
  make_optimizer, rates, name, optimizer_key = _resolve_optimizer(optimizer, learning_rate)
  if parametrization == "mup" and make_optimizer not in _MUP_KINDS:
    raise ValueError(f"trainability: parametrization='mup' scales the learning rates of 'sgd' or 'adam'; "
                     f"got optimizer={optimizer!r}")
  resolved = _data.resolve(data)
  n_train = resolved.x_train.shape[0]
  batch = n_train if batch is None else _check_int(batch, "batch", 1)
  if batch > n_train:
    raise ValueError(f"trainability: batch={batch} is larger than the {n_train} training examples")
  plan_schemes = _resolve_schemes(schemes, sigma_w2)
  for width in widths:
    _check_scheme_shapes(plan_schemes, width, resolved)
  key = _check_key(key)
  return _Plan(plan_schemes, _resolve_activations(activations), depths, widths, resolved, steps, batch, seeds,
               rates, make_optimizer, name, optimizer_key, float(bias_std), parametrization, base_width, key)


# ---------------------------------------------------------------------------------- compile, run, collect

def _optimizer_for(plan: _Plan, width: int) -> Callable:
  """The learning rate -> transformation of one width: the plan's, with muP's per-role rates under "mup"."""
  if plan.parametrization == "standard":
    return plan.make_optimizer
  from jaxinit.mup import _optim

  kind = _MUP_KINDS[plan.make_optimizer]
  scaling = _optim.scale_by_width(_program.ROLES, width / plan.base_width, optimizer=kind)
  return lambda rate: optax.chain(plan.make_optimizer(rate), scaling)


def _compiled(plan: _Plan, width: int):
  """The jitted program of one width, cached on what it depends on."""
  layout = _program.Layout(width, max(max(plan.depths) - 1, 1), plan.data.x_train.shape[1], plan.data.outputs,
                           plan.data.classes, plan.steps, plan.batch)
  readout_scale = 1.0 if plan.parametrization == "standard" else math.sqrt(plan.base_width / width)
  cache_key = (layout, plan.depths, tuple(s.cache_key for s in plan.schemes),
               tuple(a.fn for a in plan.activations),
               plan.optimizer_key, plan.parametrization, plan.base_width)
  program = _PROGRAMS.get(cache_key)
  if program is None:
    if len(_PROGRAMS) >= _MAX_PROGRAMS:
      _PROGRAMS.pop(next(iter(_PROGRAMS)))
    program = _program.build(tuple(s.init for s in plan.schemes), tuple(a.fn for a in plan.activations),
                             _optimizer_for(plan, width), layout, plan.depths, LOSS_LIMIT, readout_scale)
    _PROGRAMS[cache_key] = program
  return program


def _run(plan: _Plan) -> dict[int, tuple]:
  """Outcomes per width: a tuple over activations of Outcomes with axes (K, S, D, R, ...)."""
  seed_keys = jax.vmap(lambda s: jax.random.fold_in(plan.key, s))(jnp.arange(plan.seeds))
  rates = jnp.asarray(plan.learning_rates, jnp.float32)
  d = plan.data
  data = tuple(jnp.asarray(a) for a in (d.x_train, d.y_train, d.x_test, d.y_test))
  out = {}
  for width in plan.widths:
    program = _compiled(plan, width)
    out[width] = jax.device_get(program(seed_keys, rates, jnp.float32(plan.bias_std), data))
  return out


def _collect(plan: _Plan, outcomes: dict[int, tuple]) -> TrainabilityResult:
  """Stacks the outcomes to (scheme, activation, width, depth, rate, seed, ...) arrays."""
  fields = {}
  for name in _program.Outcome._fields:
    # (K, A, S, D, R) per width
    per_width = [np.stack([getattr(o, name) for o in outcomes[w]], axis=1) for w in plan.widths]
    stacked = np.stack(per_width, axis=2)  # (K, A, W, S, D, R, ...)
    fields[name] = np.moveaxis(stacked, 3, 5)  # (K, A, W, D, R, S, ...)
  d = plan.data
  return TrainabilityResult(
      schemes=tuple(s.label for s in plan.schemes), activations=tuple(a.name for a in plan.activations),
      widths=plan.widths, depths=plan.depths, learning_rates=plan.learning_rates, seeds=plan.seeds,
      steps=plan.steps, batch=plan.batch, task=d.task, data_name=d.name, baseline_loss=baseline_loss(d),
      sigma_w2=tuple(s.sigma_w2 for s in plan.schemes), bias_std=plan.bias_std, optimizer=plan.optimizer_name,
      parametrization=plan.parametrization, base_width=plan.base_width, **fields)


def baseline_loss(data: _data.Dataset) -> float:
  """The train loss of the best constant prediction: the targets' variance, or the labels' entropy."""
  if data.classes is None:
    return float(np.mean(np.var(data.y_train.astype(np.float64), axis=0)))
  freq = np.bincount(data.y_train, minlength=data.classes) / len(data.y_train)
  freq = freq[freq > 0]
  return float(-np.sum(freq * np.log(freq)))


def trainability(schemes=None, activations=("relu",), depths=(2, 8, 32), widths=(32,), *, sigma_w2=None,
                 bias_std: float = 0.0, data=None, steps: int = 300, optimizer=None, learning_rate=None,
                 batch: int | None = 64, seeds: int = 2, key=None, parametrization: str = "standard",
                 base_width: int | None = None) -> TrainabilityResult:
  r"""Trains every scheme x activation x width x depth x learning rate x seed MLP and says which train.

  Each configuration is an MLP of ``depth`` hidden layers of width ``N`` and a linear
  readout (``depth + 1`` weight matrices), every kernel drawn by the scheme and every bias
  from N(0, ``bias_std``^2):

  .. math::
    h^1 = \phi(x W^0 + b^0), \quad h^{l+1} = \phi(h^l W^l + b^l), \quad f(x) = h^D W^D + b^D

  trained for ``steps`` steps on minibatches of ``batch`` examples with an optax optimizer,
  on mean squared error (regression) or softmax cross-entropy (classification). All
  configurations of one width run in one jitted program (``vmap`` over scheme, seed, depth
  and learning rate around a ``lax.scan`` over steps; layers stacked); the second call with
  the same shapes does not recompile. The seeds' weights and minibatches are shared by every
  configuration (common random numbers): seed ``s`` draws from ``fold_in(key, s)``.

  The default optimizer is ``optax.sgd`` with learning rate 0.01, for inputs and targets of
  unit variance (the built-in tasks): on the teacher task, 300 steps take He et al.'s 30-layer
  ReLU MLP (variance 2/fan_in, width 32) to about 0.3 of the baseline loss, while a rate of
  0.03 already stalls some seeds (dead units) and with 1/fan_in nothing moves. Verdicts and
  their thresholds: :class:`TrainabilityResult`.
  A configuration that diverges is frozen at its last finite state and reported as
  "diverges"; the others are unaffected.

  Args:
    schemes: scheme names (``jaxinit schemes``), initializers, or ``{label: initializer}``, as
      in :func:`jaxinit.sweep`; default ``("he_normal", "lecun_normal")``, or none when
      ``sigma_w2`` is given.
    activations: activation names, callables or ``{label: fn}``.
    depths: hidden layers, ints >= 1.
    widths: hidden widths, ints >= 1 (one compiled program each).
    sigma_w2: a grid of weight variances times fan-in: adds one scheme
      ``variance_scaling(v, "fan_in", "normal")`` labelled ``"sigma_w2=v"`` per value. The same
      grid can be given as ``schemes={"sw2=1.5": jaxinit.variance_scaling(1.5, "fan_in", "normal"), ...}``.
    bias_std: std of every bias at initialisation (``sqrt(sigma_b^2)``), >= 0.
    data: ``"teacher"`` (default, :func:`jaxinit.training.teacher`), ``"mixture"``,
      ``"digits"`` (needs scikit-learn), a :class:`jaxinit.training.Dataset`, or arrays
      ``(x, y)`` / ``(x_train, y_train, x_test, y_test)`` (integer 1-d ``y``: classification).
    steps: optimizer steps, >= 1.
    optimizer: ``"sgd"`` (default), ``"momentum"``, ``"adam"``, ``"adamw"``, a factory
      ``learning_rate -> optax.GradientTransformation`` (e.g. ``optax.adam``), or a built
      transformation (then ``learning_rate`` must be None).
    learning_rate: one rate or a grid of rates (a ``vmap`` axis), > 0; default 0.01.
    batch: examples per step, or None for the full training set.
    seeds: independent networks per configuration, >= 1.
    key: a PRNG key (default ``jax.random.key(0)``).
    parametrization: ``"standard"``, or ``"mup"``: the readout's init std times
      ``sqrt(base_width / N)`` and per-role learning rates of :func:`jaxinit.mup.scale_by_width`
      (Yang et al. 2022, Table 3), for ``optimizer`` ``"sgd"`` or ``"adam"``.
    base_width: the width at which "mup" equals "standard", <= every width.

  Returns:
    A :class:`TrainabilityResult`.

  Raises:
    ValueError: any bad argument or data (shapes, non-finite values, labels out of range,
      an unknown optimizer, ``steps < 1``, ``base_width`` above a width), before anything compiles.

  Examples:
    >>> import jaxinit
    >>> result = jaxinit.trainability(["he_normal"], "relu", depths=2, widths=8, steps=20, seeds=1)
    >>> result.verdict().shape  # (scheme, activation, width, depth, learning rate)
    (1, 1, 1, 1, 1)

  References:
    He, Zhang, Ren & Sun, Delving Deep into Rectifiers, 2015.
    Schoenholz, Gilmer, Ganguli & Sohl-Dickstein, Deep Information Propagation, 2017.
    Yang et al., Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer, 2022.
  """
  plan = _plan(schemes, activations, depths, widths, sigma_w2=sigma_w2, bias_std=bias_std, data=data,
               steps=steps, optimizer=optimizer, learning_rate=learning_rate, batch=batch, seeds=seeds,
               key=key,
               parametrization=parametrization, base_width=base_width)
  return _collect(plan, _run(plan))
