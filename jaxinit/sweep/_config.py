"""The sweep's configuration: one frozen object that the CLI builds, `sweep` runs and the result records.

Every option is checked here, once, when the configuration is built: a bad one raises
:class:`SweepConfigError` (a ``ValueError``) naming the parameter and its value.
"""

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit.core import _activations
from jaxinit.initializers import _catalog
from jaxinit.initializers._describe import describe

ENGINES = ("auto", "dense", "gaussian")
ARCHITECTURES = ("mlp", "resnet")
DEFAULT_SCHEMES = ("he_normal", "glorot_normal", "lecun_normal", "orthogonal")
DEFAULT_ACTIVATIONS = ("relu", "tanh")
DEFAULT_DEPTHS = range(1, 129)
DEFAULT_WIDTHS = (32, 64, 128, 256, 512)


class SweepConfigError(ValueError):
  """A bad sweep option: ``parameter`` is its name, ``value`` what was given, ``reason`` what is wrong."""

  def __init__(self, parameter: str, value, reason: str, message: str | None = None):
    self.parameter, self.value, self.reason = parameter, value, reason
    super().__init__(message or f"sweep: {parameter}={value!r} {reason}")


class Scheme:
  """A scheme of the sweep: its label, its initializer, what it draws (see :func:`jaxinit.describe`) and
  the bias std it is paired with, if any.

  Attributes:
    label: the name it is reported under.
    init: the initializer.
    bias_std: the std of the biases it runs with, whatever the sweep's ``bias_std`` (the edge of
      chaos is a pair (sigma_w^2, sigma_b^2): ``edge_of_chaos:tanh,0.05`` has ``sqrt(0.05)``); None:
      the sweep's ``bias_std``.
    family: the unit draw it scales: ``"normal"``, ``"truncated_normal"``, ``"uniform"``,
      ``"orthogonal"``, or None when only calling ``init`` can tell (an opaque initializer).

  Examples:
    >>> from jaxinit.sweep import Scheme, SweepConfig
    >>> import jaxinit
    >>> pair = Scheme("critical tanh", jaxinit.variance_scaling(1.761, "fan_in", "normal"), bias_std=0.2236)
    >>> SweepConfig(schemes=("he_normal", pair), bias_std=0.0).bias_stds
    (0.0, 0.2236)
  """

  def __init__(self, label: str, init: Callable, bias_std: float | None = None):
    self.label, self.init = label, init
    if bias_std is not None:
      if isinstance(bias_std, bool):
        raise SweepConfigError("bias_std", bias_std, f"of scheme {label!r} must be a number, not a bool")
      bias_std = _real(bias_std, "bias_std")
      if bias_std < 0:
        raise SweepConfigError("bias_std", bias_std, f"of scheme {label!r} must be >= 0")
    self.bias_std = bias_std
    drawn = describe(init)
    spec, haar = drawn.spec, drawn.scale
    # a traced scale cannot set a compile-time std: treat the scheme as opaque
    self.spec = None if spec is None or isinstance(spec.scale, jax.core.Tracer) else spec
    self.haar_scale = None if haar is None or isinstance(haar, jax.core.Tracer) else float(haar)
    if self.spec is not None:
      self.family = self.spec.distribution
    else:
      self.family = "orthogonal" if self.haar_scale is not None else None

  def __repr__(self) -> str:
    bias = "" if self.bias_std is None else f", bias_std={self.bias_std!r}"
    return f"Scheme({self.label!r}, family={self.family!r}{bias})"

  def log_std(self, width: int) -> float:
    """log of the factor on the family's unit draw (a Haar matrix for "orthogonal"); 0 if opaque."""
    if self.spec is not None:
      return 0.5 * math.log(float(self.spec.variance((width, width))))
    return math.log(self.haar_scale) if self.haar_scale is not None else 0.0

  def sigma_w2(self, width: int) -> float | None:
    """fan_in x Var(W) of a square kernel, the mean-field sigma_w^2; None if only a draw can tell."""
    if self.spec is not None:
      return float(self.spec.variance((width, width))) * width
    return self.haar_scale ** 2 if self.haar_scale is not None else None


def _int_tuple(values, name: str, minimum: int) -> tuple[int, ...]:
  if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
    values = (values,)
  try:
    out = tuple(values)
  except TypeError:
    raise SweepConfigError(name, values, "must be an int or a sequence of ints") from None
  if not out:
    raise SweepConfigError(name, values, "is empty")
  for v in out:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
      raise SweepConfigError(name, values, f"must hold ints >= {minimum}; got {v!r}")
  return tuple(int(v) for v in out)


def _int(value, name: str, minimum: int) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise SweepConfigError(name, value, f"must be an int >= {minimum}")
  return int(value)


def _real(value, name: str) -> float:
  try:
    out = float(np.asarray(value))
  except (TypeError, ValueError):
    raise SweepConfigError(name, value, "must be a real number") from None
  if not math.isfinite(out):
    raise SweepConfigError(name, value, "must be finite")
  return out


def _unique_labels(name: str, given, labels: Sequence[str]) -> None:
  if not labels:
    raise SweepConfigError(name, given, "is empty")
  if len(set(labels)) != len(labels):
    raise SweepConfigError(name, list(labels), "repeats a label")


def _schemes(schemes) -> tuple[Scheme, ...]:
  if isinstance(schemes, (str, bytes, Scheme)) or callable(schemes):
    schemes = (schemes,)
  items = schemes.items() if isinstance(schemes, Mapping) else [(None, s) for s in schemes]
  out = []
  for label, s in items:
    if isinstance(s, Scheme):
      out.append(s if label is None else Scheme(str(label), s.init, s.bias_std))
    elif isinstance(s, str):
      try:
        init = _catalog.lookup(s, where="sweep")
      except ValueError as e:
        raise SweepConfigError("scheme", s, "is not a known scheme", message=str(e)) from None
      sigma_b2 = _catalog.paired_bias_variance(s)
      out.append(Scheme(str(label or s), init, None if sigma_b2 is None else math.sqrt(sigma_b2)))
    elif callable(s):
      out.append(Scheme(str(label or getattr(s, "__name__", f"scheme{len(out)}")), s))
    else:
      raise SweepConfigError("scheme", s, "must be a scheme name or an initializer")
  _unique_labels("schemes", schemes, [s.label for s in out])
  return tuple(out)


def _activation_list(activations) -> tuple[_activations.Activation, ...]:
  if isinstance(activations, (str, _activations.Activation)) or callable(activations):
    activations = (activations,)
  items = activations.items() if isinstance(activations, Mapping) else [(None, a) for a in activations]
  acts = []
  for label, a in items:
    try:
      act = _activations.resolve(a, where="sweep")
    except ValueError as e:
      prefix = f"sweep: activation={a!r} "
      reason = str(e)[len(prefix):] if str(e).startswith(prefix) else str(e)
      raise SweepConfigError("activation", a if label is None else str(label), reason) from None
    acts.append(act if label is None else act._replace(name=str(label)))
  _unique_labels("activations", activations, [a.name for a in acts])
  return tuple(acts)


def _check_draws(schemes: Sequence[Scheme], widths: Sequence[int]) -> None:
  """An opaque scheme is called on (N, N) kernels: its draw must have that shape (checked abstractly)."""
  key = jax.eval_shape(lambda: jax.random.key(0))
  for s in schemes:
    if s.family is not None:
      continue  # the sweep draws the family's unit matrix itself
    for width in sorted(set(widths)):
      shape = (width, width)
      try:
        out = jax.eval_shape(lambda k, init=s.init, shape=shape: init(k, shape, jnp.float32), key)
      except (ValueError, TypeError) as e:
        reason = f"{e} (the sweep's layers are dense {width} x {width} kernels)"
        message = f"sweep: scheme={s.label!r} fails on a {width} x {width} kernel: {reason}"
        raise SweepConfigError("scheme", s.label, reason, message) from None
      if getattr(out, "shape", None) != shape:
        raise SweepConfigError("scheme", s.label, f"drew shape {getattr(out, 'shape', out)} for a kernel of "
                               f"shape {shape}; it must return the shape it is asked for")


def _key(key):
  if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
    if not 0 <= key < 2 ** 32:
      raise SweepConfigError("key", key, "as an int seed must be in [0, 2**32)")
    return int(key)
  arr = key if isinstance(key, jax.Array) else None
  if arr is not None and jnp.issubdtype(arr.dtype, jax.dtypes.prng_key) and arr.shape == ():
    return arr
  if arr is not None and arr.dtype == jnp.uint32 and arr.shape == (2,):
    return jax.random.wrap_key_data(arr)  # a raw jax.random.PRNGKey
  raise SweepConfigError("key", key, "must be an int seed or a PRNG key from jax.random.key")


def sampleable(family: str | None, width: int, batch: int) -> bool:
  """Whether X W has an exact law the "gaussian" engine samples: Gaussian W, or Haar W with 2B <= N."""
  return family == "normal" or (family == "orthogonal" and 2 * batch <= width)


def _check_engine(config: "SweepConfig") -> None:
  if config.engine != "gaussian":
    return
  for width in config.widths:
    bad = [s.label for s in config.schemes if not sampleable(s.family, width, config.batch)]
    if bad:
      raise SweepConfigError("engine", config.engine, f"samples X W exactly only for Gaussian weights "
                             f"(variance_scaling(..., 'normal')) and orthogonal ones at width >= 2 x batch; "
                             f"not for schemes {bad} at width={width}, batch={config.batch}")


def _check_grid(config: "SweepConfig") -> None:
  """Checks of the numeric options; every one names the parameter and its value."""
  if len(set(config.widths)) != len(config.widths):
    raise SweepConfigError("widths", config.widths, "repeats a width")
  if config.batch % 2:
    raise SweepConfigError("batch", config.batch, "must be even: inputs come in pairs (rows 2i and 2i + 1) "
                           "whose correlation the sweep measures")
  if config.bias_std < 0:
    raise SweepConfigError("bias_std", config.bias_std, "must be >= 0")
  if not 0.0 <= config.input_correlation < 1.0:
    raise SweepConfigError("input_correlation", config.input_correlation, "must be in [0, 1)")
  if config.architecture not in ARCHITECTURES:
    raise SweepConfigError("architecture", config.architecture,
                           f"expected one of {', '.join(map(repr, ARCHITECTURES))}")
  if config.engine not in ENGINES:
    raise SweepConfigError("engine", config.engine, f"expected one of {', '.join(map(repr, ENGINES))}")


@dataclasses.dataclass(frozen=True, eq=False)
class SweepConfig:
  """Everything that decides a sweep's numbers, checked once when it is built.

  The fields are normalised on construction: ``schemes`` becomes a tuple of
  :class:`Scheme`, ``activations`` a tuple of resolved activations, ``depths`` sorted
  and deduplicated; an int ``key`` stays an int seed (``jax.random.key(key)``).

  Attributes:
    schemes: scheme names (``jaxinit schemes``), initializers, or ``{label: initializer}``.
    activations: activation names (as in :func:`jaxinit.gain`), elementwise callables, or
      ``{label: fn}``.
    depths: the depths to report, ints >= 1.
    widths: the widths, distinct ints >= 1.
    batch: inputs per network, an even int >= 2 (rows ``2i`` and ``2i + 1`` are a pair).
    seeds: independent networks per configuration, >= 1.
    key: an int seed, standing for ``jax.random.key(key)``, or a PRNG key (None: seed 0).
    bias_std: std of the biases, >= 0, for every scheme that has none of its own
      (:attr:`Scheme.bias_std`; see :attr:`bias_stds`).
    architecture: ``"mlp"`` or ``"resnet"``.
    engine: ``"auto"``, ``"dense"`` or ``"gaussian"``.
    branch_scale: the residual branch multiplier (``"resnet"``), finite.
    input_correlation: correlation of paired inputs, in [0, 1).
    devices: the devices to shard seeds over (None: every local device).

  Raises:
    SweepConfigError: (a ``ValueError``) any bad option, naming it and its value.

  Examples:
    >>> from jaxinit.sweep import SweepConfig
    >>> config = SweepConfig(schemes=("he_normal",), activations=("relu",), depths=(4, 2), widths=(16,),
    ...                      batch=4, seeds=1)
    >>> config.depths, config.scheme_labels
    ((2, 4), ('he_normal',))
    >>> SweepConfig(batch=3)
    Traceback (most recent call last):
    ...
    jaxinit.sweep._config.SweepConfigError: sweep: batch=3 must be even: ...
  """
  schemes: tuple[Scheme, ...] = DEFAULT_SCHEMES
  activations: tuple[_activations.Activation, ...] = DEFAULT_ACTIVATIONS
  depths: tuple[int, ...] = DEFAULT_DEPTHS
  widths: tuple[int, ...] = DEFAULT_WIDTHS
  batch: int = 128
  seeds: int = 4
  key: int | jax.Array | None = None
  bias_std: float = 0.0
  architecture: str = "mlp"
  engine: str = "auto"
  branch_scale: float = 1.0
  input_correlation: float = 0.0
  devices: tuple | None = None

  def __post_init__(self):
    def put(name, value):
      object.__setattr__(self, name, value)

    put("depths", tuple(sorted(set(_int_tuple(self.depths, "depths", 1)))))
    put("widths", _int_tuple(self.widths, "widths", 1))
    put("batch", _int(self.batch, "batch", 2))
    put("seeds", _int(self.seeds, "seeds", 1))
    put("key", 0 if self.key is None else _key(self.key))
    put("bias_std", _real(self.bias_std, "bias_std"))
    put("branch_scale", _real(self.branch_scale, "branch_scale"))
    put("input_correlation", _real(self.input_correlation, "input_correlation"))
    if self.devices is not None:
      put("devices", tuple(self.devices))
      if not self.devices:
        raise SweepConfigError("devices", self.devices, "is empty")
    _check_grid(self)
    put("schemes", _schemes(self.schemes))
    put("activations", _activation_list(self.activations))
    _check_engine(self)
    _check_draws(self.schemes, self.widths)

  @property
  def scheme_labels(self) -> tuple[str, ...]:
    return tuple(s.label for s in self.schemes)

  @property
  def activation_labels(self) -> tuple[str, ...]:
    return tuple(a.name for a in self.activations)

  @property
  def bias_stds(self) -> tuple[float, ...]:
    """Per scheme, the std of its biases: its own (a paired scheme such as the edge of chaos), else
    ``bias_std``."""
    return tuple(self.bias_std if s.bias_std is None else s.bias_std for s in self.schemes)

  @property
  def max_depth(self) -> int:
    return self.depths[-1]

  def prng_key(self) -> jax.Array:
    """The sweep's PRNG key: ``jax.random.key(key)`` for an int seed."""
    return jax.random.key(self.key) if isinstance(self.key, int) else self.key

  def replace(self, **changes) -> "SweepConfig":
    """A copy with ``changes``, checked again."""
    return dataclasses.replace(self, **changes)
