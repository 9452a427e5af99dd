"""Assertions for your own test suites, in chex's style: ``assert_*`` functions raising a precise AssertionError.

* :func:`assert_initializer`: shape, dtype, finiteness and the sample std against an expected std, with a
  tolerance derived from the sample size (and the sample's own kurtosis), not a fixed number.
* :func:`assert_variance_preserving`: a deep MLP built from the initializer keeps its forward and gradient
  scale (simulated with :func:`jaxinit.sweep`).
* :func:`assert_healthy_init`: :func:`jaxinit.diagnose` of your model has no warning.

They run on the host and take no traced values, so they work inside ``chex.variants`` tests as well.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit.core import _checks
from jaxinit.diagnosis._diagnose import diagnose
from jaxinit.diagnosis._rules import Thresholds
from jaxinit.initializers._catalog import lookup
from jaxinit.sweep import sweep

__all__ = ("assert_healthy_init", "assert_initializer", "assert_variance_preserving")


def _expected_std(scheme: str, shape) -> float:
  spec = getattr(lookup(scheme, where="assert_initializer"), "spec", None)
  if spec is None:
    raise ValueError(f"assert_initializer: scheme={scheme!r} is not a variance-scaling scheme; pass std=")
  return math.sqrt(spec.variance(shape))


def std_tolerance(sample: np.ndarray, sigmas: float) -> float:
  """``sigmas`` standard errors of the sample std, relative: ``sqrt((kurtosis - 1) / (4 n))``.

  The variance of a sample variance is ``(mu4 - sigma^4) / n``; by the delta method the relative
  standard error of the sample std is ``sqrt((mu4 / sigma^4 - 1) / (4 n))`` (``1 / sqrt(2 n)`` for a
  normal sample, whose kurtosis is 3).
  """
  x = sample.astype(np.float64).ravel()
  centred = x - x.mean()
  var = np.mean(centred ** 2)
  kurtosis = np.mean(centred ** 4) / var ** 2 if var > 0 else 3.0
  return sigmas * math.sqrt(max(kurtosis - 1.0, 0.0) / (4.0 * x.size))


def assert_initializer(init, shape, *, std: float | None = None, scheme: str | None = None,
                       mean: float | None = None, dtypes=(jnp.float32,), key: jax.Array | None = None,
                       sigmas: float = 5.0) -> None:
  """Asserts that ``init`` draws arrays of ``shape`` and each dtype, finite, with the expected std.

  The sample is drawn through ``jax.jit``. Its std is compared with ``std`` (or with the std of the
  named ``scheme`` for this shape) within ``sigmas`` standard errors of a sample std of that size,
  estimated from the sample's kurtosis (see :func:`std_tolerance`); the mean (0 for a named scheme)
  within ``sigmas`` standard errors of a mean.

  Args:
    init: an initializer ``init(key, shape, dtype)``.
    shape: the shape to draw.
    std: the expected standard deviation.
    scheme: a variance-scaling scheme name (``"he_normal"``, ...) whose std is expected instead.
    mean: the expected mean (default 0 with ``scheme``, unchecked otherwise).
    dtypes: the dtypes to draw.
    key: the PRNG key (default ``jax.random.key(0)``).
    sigmas: how many standard errors a deviation may reach.

  Raises:
    AssertionError: a wrong shape, dtype, a non-finite entry, or a std or mean out of tolerance;
      the message names the dtype, the numbers and the tolerance.
    ValueError: both ``std`` and ``scheme``, or an unknown ``scheme``.

  Examples:
    >>> import jaxinit
    >>> from jaxinit.testing import assert_initializer
    >>> assert_initializer(jaxinit.he_normal(), (256, 128), scheme="he_normal")
    >>> assert_initializer(jaxinit.lecun_normal(), (256, 128), scheme="he_normal")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: assert_initializer: dtype=float32, shape=(256, 128): sample std ... is 0.70...x the expected 0.08839 (he_normal); tolerance ...
  """
  if std is not None and scheme is not None:
    raise ValueError(f"assert_initializer: give std={std!r} or scheme={scheme!r}, not both")
  shape = _checks.check_shape(shape, "assert_initializer")
  expected, label = std, f"std={std}"
  if scheme is not None:
    expected, label = _expected_std(scheme, shape), scheme
    mean = 0.0 if mean is None else mean
  key = jax.random.key(0) if key is None else key
  draw = jax.jit(init, static_argnums=(1, 2))
  for dtype in dtypes:
    dtype = np.dtype(dtype)
    where = f"assert_initializer: dtype={dtype.name}, shape={shape}:"
    sample = draw(key, shape, dtype)
    if tuple(sample.shape) != shape:
      raise AssertionError(f"{where} got shape {tuple(sample.shape)}")
    if sample.dtype != dtype:
      raise AssertionError(f"{where} got dtype {sample.dtype}")
    values = np.asarray(sample.astype(jnp.float32) if not jnp.iscomplexobj(sample) else jnp.abs(sample))
    if not np.all(np.isfinite(values)):
      raise AssertionError(f"{where} {np.sum(~np.isfinite(values))} entries are not finite")
    n = values.size
    measured = float(values.std())
    if expected is not None and n > 1:
      tol = std_tolerance(values, sigmas)
      if abs(measured / expected - 1.0) > tol:
        raise AssertionError(
            f"{where} sample std {measured:.4g} is {measured / expected:.4g}x the expected {expected:.4g} "
            f"({label}); tolerance +-{tol:.1%} ({sigmas:g} standard errors of a std of {n} entries)")
    if mean is not None and n > 1:
      bound = sigmas * max(measured, 1e-30) / math.sqrt(n)
      if abs(float(values.mean()) - mean) > bound:
        raise AssertionError(f"{where} sample mean {float(values.mean()):.4g} differs from {mean:g} by more "
                             f"than {bound:.3g} ({sigmas:g} standard errors of a mean of {n} entries)")


def assert_variance_preserving(init, activation, *, depth: int = 32, width: int = 128, batch: int = 32,
                               seeds: int = 2, factor: float = 4.0, key: jax.Array | None = None) -> None:
  """Asserts that a deep MLP with ``init`` kernels and ``activation`` keeps its forward and gradient scale.

  Simulates ``depth`` layers of ``width`` with :func:`jaxinit.sweep` (``seeds`` networks, N(0, 1)
  inputs) and requires the forward ratio ``M_depth / M_0`` and the gradient ratio (layer 1 over layer
  ``depth``), seed-averaged in log space, within ``[1 / factor, factor]``, and every value finite.
  At finite width the log-averaged ratios drift down even for a variance-preserving scheme (He/ReLU
  gives about 0.35 at ``depth / width = 1 / 4``), hence the default ``factor`` of 4; a scheme off by a
  constant ``c`` per layer drifts like ``c ** depth``.

  Args:
    init: an initializer (or a scheme name).
    activation: an activation name or elementwise callable.
    depth: layers.
    width: units per layer.
    batch: inputs.
    seeds: networks averaged.
    factor: the allowed drift of either ratio (> 1).
    key: the PRNG key.

  Raises:
    AssertionError: a ratio outside the band, or a non-finite network; the message gives both ratios.

  Examples:
    >>> import jaxinit
    >>> from jaxinit.testing import assert_variance_preserving
    >>> assert_variance_preserving(jaxinit.he_normal(), "relu", depth=16, width=64)
  """
  if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 1:
    raise ValueError(f"assert_variance_preserving: factor={factor!r} must be a number > 1")
  result = sweep({"init": init}, (activation,), depths=(depth,), widths=(width,), batch=batch, seeds=seeds,
                 key=key)
  forward = 10.0 ** float(result.forward_log10()[0, 0, 0, 0])
  gradient = 10.0 ** float(result.gradient_log10()[0, 0, 0, 0])
  verdict = str(result.verdict()[0, 0, 0, 0])
  where = f"assert_variance_preserving: activation={activation!r}, depth={depth}, width={width}:"
  if verdict == "non-finite" or not (math.isfinite(forward) and math.isfinite(gradient)):
    raise AssertionError(f"{where} the network produced non-finite values (verdict {verdict!r})")
  if not (1 / factor <= forward <= factor and 1 / factor <= gradient <= factor):
    raise AssertionError(f"{where} forward ratio {forward:.4g} and gradient ratio {gradient:.4g} must both lie "
                         f"in [{1 / factor:.3g}, {factor:g}] (verdict {verdict!r})")


def assert_healthy_init(model, *args, thresholds: Thresholds | None = None, ignore=(), **kwargs) -> None:
  """Asserts that :func:`jaxinit.diagnose` finds nothing wrong with ``model`` on the given inputs.

  Args:
    model: a ``flax.nnx.Module``, or a ``flax.linen.Module`` followed by its variables.
    *args: the inputs, as for :func:`jaxinit.diagnose`.
    thresholds: a :class:`jaxinit.diagnosis.Thresholds`.
    ignore: warning codes to accept (e.g. ``("gradient_drift",)``).
    **kwargs: passed to :func:`jaxinit.diagnose` (``loss=``, ``call=``, keyword inputs).

  Raises:
    AssertionError: the diagnosis has warnings not in ``ignore``; the message lists each one.

  Examples:
    >>> import jax, jaxinit
    >>> from flax import nnx
    >>> from jaxinit.testing import assert_healthy_init
    >>> model = nnx.Sequential(nnx.Linear(8, 16, kernel_init=jaxinit.zeros, rngs=nnx.Rngs(0)), nnx.relu,
    ...                        nnx.Linear(16, 2, rngs=nnx.Rngs(1)))
    >>> assert_healthy_init(model, jax.random.normal(jax.random.key(0), (32, 8)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: assert_healthy_init: 1 warning(s) in 2 layers:
      [zero_variance] layers/0: ...
  """
  result = diagnose(model, *args, thresholds=thresholds, **kwargs)
  bad = [w for w in result.warnings if w.code not in ignore]
  if bad:
    raise AssertionError(f"assert_healthy_init: {len(bad)} warning(s) in {len(result.rows)} layers:\n"
                         + "\n".join(f"  {w}" for w in bad))


