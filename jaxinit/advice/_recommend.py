"""``jaxinit.recommend``: which initialization to use for an activation at a depth, and why."""

import dataclasses
import math
import numbers
from collections.abc import Callable

import jax
import numpy as np

from jaxinit.advice import _candidates
from jaxinit.advice._candidates import Candidate, Scheme
from jaxinit.core import _activations
from jaxinit.sweep import Scheme as SweepScheme
from jaxinit.sweep import sweep

ARCHITECTURES = ("mlp", "resnet")


@dataclasses.dataclass(frozen=True)
class Recommendation:
  """The answer of :func:`recommend`: a scheme (or none), the evidence, and what to do instead.

  Attributes:
    activation, depth, width, architecture: the question.
    choice: the recommended :class:`Candidate`, or None when no scheme keeps a plain network of this
      depth healthy.
    kernel_init, bias_init: initializers for the choice (None without a choice).
    candidates: every scheme weighed for a plain MLP, with the theory's and the simulation's verdicts.
    residual: when the plain MLP fails (or ``architecture="resnet"``), the residual network
      ``x + depth^-1/2 (phi(x) W + b)`` with the exact-gain scheme, simulated at the same depth and width.
    reasons: the argument, one sentence each, with the numbers.
  """
  activation: str
  depth: int
  width: int
  architecture: str
  choice: Candidate | None
  kernel_init: Callable | None
  bias_init: Callable | None
  candidates: tuple[Candidate, ...]
  residual: Candidate | None
  reasons: tuple[str, ...]

  def summary(self) -> str:
    """The recommendation and its evidence as plain text."""
    head = (f"{self.activation}, depth {self.depth}, width {self.width}: use {self.choice.label} "
            f"(sigma_w^2 = {self.choice.sigma_w2:.4g}, sigma_b^2 = {self.choice.sigma_b2:.4g})"
            if self.choice else f"{self.activation}, depth {self.depth}, width {self.width}: "
            "no plain-MLP scheme stays healthy")
    rows = (*self.candidates, *([self.residual] if self.residual else []))
    n = max(len("scheme"), *(len(c.label) for c in rows)) + 2
    lines = [head, "", f"{'scheme':<{n}}{'sw2':>8}{'sb2':>7}{'chi1':>8}{'6 xi_c':>9}{'theory':>11}"
             f"{'simulated':>11}{'stable to':>10}"]
    for c in rows:
      lines.append(f"{c.label:<{n}}{c.sigma_w2:>8.4g}{c.sigma_b2:>7.3g}{c.chi1:>8.4g}{_trainable(c):>9}"
                   f"{c.theory_verdict:>11}{c.simulated_verdict or '-':>11}"
                   f"{'-' if c.stable_depth is None else c.stable_depth:>10}")
    return "\n".join([*lines, "", *self.reasons])

  def to_dict(self) -> dict:
    """A JSON-ready dict (non-finite numbers as None)."""
    def clean(c):
      return None if c is None else {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                                     for k, v in c._asdict().items()}
    return {"activation": self.activation, "depth": self.depth, "width": self.width,
            "architecture": self.architecture, "choice": clean(self.choice),
            "candidates": [clean(c) for c in self.candidates], "residual": clean(self.residual),
            "reasons": list(self.reasons)}


def _trainable(c: Candidate) -> str:
  """6 xi_c, or "-" where q diverges: the correlation map's depth scale then describes no fixed point."""
  return _depth(6 * c.xi_c) if not math.isinf(c.q_star) else "-"


def _depth(x: float) -> str:
  """A depth scale: "inf" at criticality (or past 1e9, where chi_1 is 1 to rounding)."""
  if not math.isfinite(x) or x > 1e9:
    return "inf" if not math.isnan(x) else "-"
  return f"{x:.0f}"


def _check(depth, width, architecture, sigma_b2, batch, seeds) -> None:
  for name, value, low in (("depth", depth, 1), ("width", width, 2), ("batch", batch, 2), ("seeds", seeds, 1)):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
      raise ValueError(f"recommend: {name}={value!r} must be an int >= {low}")
  if batch % 2:
    raise ValueError(f"recommend: batch={batch!r} must be even (inputs are simulated in pairs)")
  if architecture not in ARCHITECTURES:
    raise ValueError(f"recommend: architecture={architecture!r}; expected one of {', '.join(ARCHITECTURES)}")
  if not (isinstance(sigma_b2, numbers.Real) and math.isfinite(sigma_b2) and sigma_b2 >= 0):
    raise ValueError(f"recommend: sigma_b2={sigma_b2!r} must be a finite number >= 0")


def _simulate(schemes: list[Scheme], activation, param, depth, width, batch, seeds, key, **kwargs):
  """Per scheme, the sweep's verdict at ``depth`` and its deepest stable depth: one sweep, in which each
  scheme runs with its own bias variance."""
  act = activation if param is None else {activation: _activation_fn(activation, param)}
  paired = [SweepScheme(s.label, s.kernel_init, bias_std=math.sqrt(s.sigma_b2)) for s in schemes]
  result = sweep(paired, act, depths=range(1, depth + 1), widths=(width,), batch=batch, seeds=seeds, key=key,
                 **kwargs)
  verdict, stable = result.verdict(), result.stable_depth()
  return {s.label: (str(verdict[i, 0, 0, -1]), int(stable[i, 0, 0])) for i, s in enumerate(schemes)}


def _activation_fn(activation, param):
  return _activations.resolve(activation, param).fn


def _rank(c: Candidate) -> tuple:
  """Healthy in simulation first, then in theory, then the closest to criticality and to unit ratios."""
  sim_ok = c.simulated_verdict in (None, "stable")
  return (not sim_ok, c.theory_verdict != "stable", -(c.stable_depth or 0),
          abs(math.log(c.chi1)) if c.chi1 > 0 and math.isfinite(c.chi1) else math.inf,
          abs(c.forward_log10) + abs(c.gradient_log10))


def recommend(activation, *, depth: int, width: int = 256, architecture: str = "mlp",
              sigma_b2: float = _candidates.DEFAULT_SIGMA_B2, param: float | None = None,
              simulate: bool = True, batch: int = 64, seeds: int = 3, key=None) -> Recommendation:
  r"""Which initialization keeps a network of this activation, depth and width healthy, with the evidence.

  Weighs He, LeCun, the exact gain of ``activation`` (:func:`jaxinit.for_activation`) and, where it
  exists with a finite fixed point, the edge of chaos at ``sigma_b2`` (:func:`jaxinit.theory.edge_of_chaos`).
  For each the mean-field theory predicts, for a plain MLP of ``depth`` layers, the forward ratio
  M_D / M_0, the gradient ratio, the correlation of two uncorrelated inputs at layer D, chi_1 and the
  trainable depth 6 xi_c (Schoenholz et al. 2017); with ``simulate`` the sweep confirms each at this
  depth and width. The choice is the healthiest in simulation (then theory), closest to criticality.
  When none is healthy (GELU, SiLU and Mish plain MLPs: their length map has no stable, non-zero fixed
  point without biases, and with biases they are ordered, so inputs collapse within about 6 xi_c
  layers), ``choice`` is None and ``residual`` shows the residual network with a branch scale of
  1/sqrt(depth) simulated at the same size.

  Args:
    activation: an activation name (as in :func:`jaxinit.gain`).
    depth: the number of layers, >= 1.
    width: the hidden width, >= 2.
    architecture: ``"mlp"``, or ``"resnet"`` to ask for the residual network directly.
    sigma_b2: the bias variance of the edge-of-chaos candidate (the classic schemes use none).
    param: the negative slope of ``"leaky_relu"``.
    simulate: confirm with :func:`jaxinit.sweep` (otherwise theory alone decides).
    batch: inputs per simulated network (even).
    seeds: simulated networks per scheme.
    key: the simulation's PRNG key (default ``jax.random.key(0)``).

  Returns:
    A :class:`Recommendation`.

  Raises:
    ValueError: an unknown activation or a bad argument, named with its value.

  Examples:
    >>> import jaxinit
    >>> jaxinit.recommend("relu", depth=30, width=64, simulate=False).choice.label
    'he_normal'

  References:
    He et al., Delving Deep into Rectifiers, 2015. Schoenholz et al., Deep Information
    Propagation, 2017. Hayou et al., On the Impact of the Activation Function on Deep Neural
    Networks Training, 2019.
  """
  activation, param = _candidates.resolve_activation(activation, param)
  _check(depth, width, architecture, sigma_b2, batch, seeds)
  key = jax.random.key(0) if key is None else key
  schemes = _candidates.schemes_for(activation, param, float(sigma_b2))
  candidates = [_candidates.predict(activation, param, s, depth) for s in schemes]
  if simulate:
    sims = _simulate(schemes, activation, param, depth, width, batch, seeds, key)
    candidates = [c._replace(simulated_verdict=sims[c.label][0], stable_depth=sims[c.label][1])
                  for c in candidates]
  best = min(candidates, key=_rank)
  healthy = best.theory_verdict == "stable" and best.simulated_verdict in (None, "stable")
  residual = None
  if architecture == "resnet" or not healthy:
    residual = _residual(activation, param, depth, width, batch, seeds, key, simulate)
  if architecture == "resnet":
    healthy, best = residual.simulated_verdict in (None, "stable"), residual
  choice = best if healthy else None
  scheme = next((s for s in schemes if s.label == best.label), _candidates.exact_gain_scheme(activation, param))
  kernel_init, bias_init = (scheme.kernel_init, scheme.bias_init) if choice is not None else (None, None)
  return Recommendation(activation, depth, width, architecture, choice, kernel_init, bias_init,
                        tuple(candidates), residual, _reasons(candidates, choice, residual, depth))


def _residual(activation, param, depth, width, batch, seeds, key, simulate) -> Candidate:
  """The residual network x + depth^-1/2 (phi(x) W), W with the exact gain, simulated at the same size."""
  scheme = _candidates.exact_gain_scheme(activation, param)
  branch = 1.0 / math.sqrt(depth)
  label = f"resnet:{scheme.label}"
  # E|x_D|^2 = |x_0|^2 (1 + branch^2)^D <= e |x_0|^2 for a norm-preserving branch: bounded at any depth
  forward = depth * math.log10(1.0 + branch ** 2)
  candidate = Candidate(label, scheme.sigma_w2, 0.0, math.nan, math.nan, math.nan, forward, forward, math.nan,
                        "stable" if forward <= _candidates.EXPLODE_LOG10 else "exploding")
  if not simulate:
    return candidate
  act = activation if param is None else {activation: _activation_fn(activation, param)}
  result = sweep({label: scheme.kernel_init}, act, depths=range(1, depth + 1), widths=(width,), batch=batch,
                 seeds=seeds, key=key, architecture="resnet", branch_scale=branch)
  return candidate._replace(simulated_verdict=str(result.verdict()[0, 0, 0, -1]),
                            stable_depth=int(result.stable_depth()[0, 0, 0]),
                            corr=float(np.asarray(result.corr)[0, 0, 0, :, -1].mean()))


def _reasons(candidates, choice, residual, depth) -> tuple[str, ...]:
  out = []
  for c in candidates:
    sim = "" if c.simulated_verdict is None else (
        f"; simulated: {c.simulated_verdict} at depth {depth}, stable to depth {c.stable_depth}")
    depth_scale = (f"trainable to about 6 xi_c = {_depth(6 * c.xi_c)} layers" if not math.isinf(c.q_star)
                   else "q diverges, so no depth scale applies")
    out.append(f"{c.label}: chi_1 = {c.chi1:.4g}, q* = {c.q_star:.4g}, {depth_scale}; "
               f"predicted forward ratio 10^{c.forward_log10:.1f}, "
               f"gradient ratio 10^{c.gradient_log10:.1f}, correlation {c.corr:.4f} -> {c.theory_verdict}{sim}.")
  if choice is None:
    out.append(f"No plain-MLP variance-scaling scheme keeps the signal healthy to depth {depth}: a residual "
               "architecture with a branch scale of about 1/sqrt(depth), or normalisation, is needed.")
  elif residual is None:
    out.append(f"Use {choice.label}: healthy at depth {depth} in theory"
               + (" and in simulation." if choice.simulated_verdict else "."))
  if residual is not None:
    sim = "" if residual.simulated_verdict is None else (
        f"; simulated: {residual.simulated_verdict} at depth {depth}, stable to depth {residual.stable_depth}")
    out.append(f"{residual.label} (x + D^-1/2 (phi(x) W), D = {depth}): E|x_D|^2 / |x_0|^2 <= (1 + 1/D)^D < e for a norm-preserving branch{sim}.")
  return tuple(out)
