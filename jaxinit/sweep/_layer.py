"""The traced layer: one function per architecture, and the per-seed run that scans it to depth.

Each group of schemes (`_engines.group_schemes`) carries one (A, K, 2B, N) array for its A
activations and K lanes (`_engines.Lanes`: its distinct schemes): B signal rows over B
tangent rows, each held as ``2^-e`` times its true value, with one power of two ``e`` per
(activation, lane) for the signal and one for the tangent. A layer is one matrix product per
group with no copies; the statistics are read from the product and the new carry by matrix
products (`_stats`), and no magnitude the float32 forward pass can hold overflows them.
"""

import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit.core import _activations
from jaxinit.sweep import _engines, _stats
from jaxinit.sweep._config import Scheme

LN2 = math.log(2.0)


class Network(NamedTuple):
  """The static shape of one width's program (of one group of it: ``has_bias`` is the group's)."""
  activations: tuple[_activations.Activation, ...]
  width: int
  batch: int
  has_bias: bool  # biases are added: some lane has a bias std


class Exponents(NamedTuple):
  """Powers of two per (activation, scheme): the true signal rows are ``2^signal`` times the stored ones."""
  signal: jax.Array
  tangent: jax.Array


class Bias(NamedTuple):
  """A layer's biases: one N(0, 1) draw shared by every lane (common random numbers), times each lane's
  std."""
  unit: jax.Array  # (N,)
  std: jax.Array  # (K,) per lane


class LayerOut(NamedTuple):
  """What the architecture's layer hands to the statistics (every array scaled as noted)."""
  carry: jax.Array  # (A, K, 2B, N) the new carry, scaled by 2^-out
  measured: jax.Array  # (A, K, 2B, N) y: the signal rows are h = 2^log_scale y + bias
  log_scale: jax.Array  # (A, K) log of the signal rows' factor
  bias: Bias  # the bias inside h
  log_tangent: jax.Array  # (A, K) log of the factor on the tangent rows of ``measured``
  slope: jax.Array  # (A, K, B, N) phi'(h)


def _per_config(v):
  """(..., K) -> (..., K, 1, 1): one value per configuration, broadcast over rows and units."""
  return v[..., None, None]


def _slopes(net: Network, x):
  """phi(x) and phi'(x) for each activation's slice of x (A, K, B, N), one jvp each."""
  outs = [jax.jvp(act.fn, (x[a],), (jnp.ones_like(x[a]),)) for a, act in enumerate(net.activations)]
  return jnp.stack([o[0] for o in outs]), jnp.stack([o[1] for o in outs])


def _matmul(net: Network, rows, draw, sampled: bool):
  """rows @ W for a group's draw: its (N, N) weights, or the (2B, N) factor of a sampled product."""
  if sampled:
    return _engines.sampled_product(rows, draw)
  return (rows.reshape(-1, net.width) @ draw).reshape(rows.shape)


def mlp_layer(net: Network, rows, scale: Exponents, out: Exponents, draw, sampled: bool, bias: Bias,
              branch_scale, log_std) -> LayerOut:
  """``h = x W + b``, ``x' = phi(h)``; the tangent ``t' = phi'(h) (t W)``."""
  del branch_scale
  batch = net.batch
  std = jnp.exp(jnp.asarray(log_std))[:, None, None]
  product = _matmul(net, rows, draw, sampled)  # (x / 2^signal) W_unit over (t / 2^tangent) W_unit
  log_scale = log_std + LN2 * scale.signal
  pre = product[..., :batch, :] * _per_config(jnp.exp(log_scale))
  if net.has_bias:
    pre = pre + _per_config(bias.std) * bias.unit
  phi, slope = _slopes(net, pre)
  tangent = slope * product[..., batch:, :] * std * _per_config(jnp.exp2(scale.tangent - out.tangent))
  carry = jnp.concatenate([phi * _per_config(jnp.exp2(-out.signal)), tangent], axis=-2)
  carry = jax.lax.optimization_barrier(carry)  # read by the statistics, not recomputed in each
  return LayerOut(carry, product, log_scale, bias, log_std + LN2 * scale.tangent, slope)


def resnet_layer(net: Network, rows, scale: Exponents, out: Exponents, draw, sampled: bool, bias: Bias,
                 branch_scale, log_std) -> LayerOut:
  """``x' = x + eta (phi(x) W + b)``; the tangent ``t' = t + eta (phi'(x) t) W``."""
  batch = net.batch
  std = jnp.exp(jnp.asarray(log_std))[:, None, None]
  phi, slope = _slopes(net, rows[..., :batch, :] * _per_config(jnp.exp2(scale.signal)))
  branch_in = jnp.concatenate([phi * _per_config(jnp.exp2(-scale.signal)), slope * rows[..., batch:, :]],
                              axis=-2)
  product = _matmul(net, branch_in, draw, sampled)
  branch_bias = _per_config(bias.std * jnp.exp2(-scale.signal)) * bias.unit if net.has_bias else 0.0
  branch = product[..., :batch, :] * std + branch_bias
  carry = jnp.concatenate(
      [(rows[..., :batch, :] + branch_scale * branch) * _per_config(jnp.exp2(scale.signal - out.signal)),
       (rows[..., batch:, :] + branch_scale * std * product[..., batch:, :])
       * _per_config(jnp.exp2(scale.tangent - out.tangent))], axis=-2)
  carry = jax.lax.optimization_barrier(carry)
  # the residual stream x' = 2^out carry carries no separate bias
  no_bias = bias._replace(std=jnp.zeros_like(bias.std))
  return LayerOut(carry, carry, LN2 * out.signal, no_bias, LN2 * out.tangent, slope)


LAYERS = {"mlp": mlp_layer, "resnet": resnet_layer}


def layer_stats(net: Network, layer: LayerOut, out: Exponents) -> tuple[dict, Exponents]:
  """The layer's statistics per (activation, scheme), and the exponents for the layer after the next."""
  batch, width = net.batch, net.width
  count = batch * width
  y, bias = layer.measured, layer.bias
  squares, dot_unit, total = _stats.row_sums(y, bias.unit)  # every row: the tangent's squares come along
  pairs = jnp.einsum("...bn,...bn->...b", y[..., 0:batch:2, :], y[..., 1:batch:2, :])
  dot_bias = dot_unit[..., :batch] * bias.std[:, None]
  bias_sq, bias_sum = jnp.square(bias.std) * jnp.sum(jnp.square(bias.unit)), bias.std * jnp.sum(bias.unit)
  log_q, corr, spread = _stats.signal_stats(layer.log_scale, squares[..., :batch], dot_bias,
                                            total[..., :batch], pairs, bias_sq, bias_sum, width)
  # the carry's squares: those just read when the carry is what was measured (the residual stream)
  carry_sq = squares if layer.carry is y else jnp.einsum("...rn,...rn->...r", layer.carry, layer.carry)
  signal_sq, tangent_out_sq = jnp.sum(carry_sq[..., :batch], axis=-1), jnp.sum(carry_sq[..., batch:], axis=-1)
  tangent_sq = jnp.sum(squares[..., batch:], axis=-1)
  stats = dict(
      log_q=log_q,
      log_m=2.0 * LN2 * out.signal + jnp.log(signal_sq) - math.log(count),
      log_grad=2.0 * layer.log_tangent + jnp.log(tangent_sq) - math.log(count),
      corr=corr,
      dead=jnp.mean(layer.slope == 0, axis=(-2, -1)),
      spread=spread,
      finite=jnp.isfinite(signal_sq + tangent_out_sq) & jnp.isfinite(tangent_sq),
      log_norm0=2.0 * LN2 * out.signal + jnp.log(carry_sq[..., 0]) - math.log(width),
  )
  after = Exponents(_stats.next_exponent(out.signal, signal_sq, count, _stats.EXP_LIMIT),
                    _stats.next_exponent(out.tangent, tangent_out_sq, count, None))
  return stats, after


def _inputs(key_in, key_tangent, batch: int, width: int, input_correlation: float):
  """``batch`` N(0, I) inputs, rows 2i + 1 correlated with rows 2i, and N(0, I) input tangents."""
  g = jax.random.normal(key_in, (2, batch, width), jnp.float32)
  c0 = input_correlation
  partner = c0 * jnp.roll(g[0], 1, axis=0) + math.sqrt(1 - c0 * c0) * g[1]
  inputs = jnp.where((jnp.arange(batch) % 2 == 1)[:, None], partner, g[0])
  return inputs, jax.random.normal(key_tangent, (batch, width), jnp.float32)


def make_run(schemes: Sequence[Scheme], net: Network, depth: int, sampled: Sequence[bool], architecture: str,
             input_correlation: float, lanes: _engines.Lanes, biased: Sequence[bool]):
  """The per-seed simulation of one width: ``run(seed_key, bias_stds, branch_scale) -> metrics``.

  ``bias_stds`` holds each lane's bias std (``lanes.runs`` order); a group whose lanes all have
  none (``biased``: per group) adds no biases at all. Returns a function whose metrics are
  (A, K, depth) arrays, one row per scheme (``sigma_w2``: (K,), the N E[W^2] of opaque schemes'
  draws, 0 for the others), traced once per width.
  """
  groups = _engines.group_schemes(schemes)
  log_stds = [np.asarray([schemes[i].log_std(net.width) for i in runs], np.float32)
              for runs in lanes.of_group]
  ends = np.cumsum([len(runs) for runs in lanes.of_group])
  per_scheme = np.asarray(lanes.of_scheme)  # lanes -> scheme order
  layer_fn = LAYERS[architecture]
  batch, width = net.batch, net.width

  def layer(state, index):
    carries, key_layers, bias_stds, branch_scale = state
    key_weights, key_bias = jax.random.split(jax.random.fold_in(key_layers, index))
    unit_bias = (jax.random.normal(key_bias, (width,), jnp.float32) if net.has_bias
                 else jnp.zeros((width,), jnp.float32))
    # materialised once: left fusable, XLA would recompute the RNG inside each consumer
    draws, unit_bias = jax.lax.optimization_barrier(
        (_engines.group_draws(groups, sampled, key_weights, width, batch), unit_bias))
    new_carries, rows = [], []
    for (rows_in, scale, out), draw, is_sampled, log_std, end, group_biased in zip(
        carries, draws, sampled, log_stds, ends, biased, strict=True):
      group_net = net._replace(has_bias=group_biased)
      bias = (Bias(unit_bias, bias_stds[end - len(log_std):end]) if group_biased
              else Bias(jnp.zeros((width,), jnp.float32), jnp.zeros(len(log_std), jnp.float32)))
      result = layer_fn(group_net, rows_in, scale, out, draw, is_sampled, bias, branch_scale, log_std)
      stats, after = layer_stats(group_net, result, out)
      new_carries.append((result.carry, out, after))
      rows.append(stats)
    row = {k: jnp.concatenate([r[k] for r in rows], axis=1) for k in rows[0]}  # (A, lanes)
    # N E[W^2] of the opaque initializers' matrices (the others' is known): their sigma_w2
    w2 = jnp.concatenate([jnp.full(len(runs), jnp.mean(jnp.square(w)) * width) if g.family is None
                          else jnp.zeros(len(runs)) for g, w, runs in zip(groups, draws, lanes.of_group,
                                                                          strict=True)])
    return (tuple(new_carries), key_layers, bias_stds, branch_scale), (row, w2)

  def run(seed_key, bias_stds, branch_scale):
    key_inputs, key_tangents, key_layers = jax.random.split(seed_key, 3)
    inputs, tangents = _inputs(key_inputs, key_tangents, batch, width, input_correlation)
    start = jnp.concatenate([inputs, tangents])
    carries = []
    for runs in lanes.of_group:
      zero = jnp.zeros((len(net.activations), len(runs)), jnp.float32)
      rows = jnp.broadcast_to(start, (len(net.activations), len(runs), 2 * batch, width))
      carries.append((rows, Exponents(zero, zero), Exponents(zero, zero)))
    state = (tuple(carries), key_layers, jnp.asarray(bias_stds, jnp.float32), branch_scale)
    _, (rows, w2) = jax.lax.scan(layer, state, jnp.arange(depth))
    out = {k: jnp.moveaxis(v, 0, -1)[:, per_scheme] for k, v in rows.items()}  # (A, K, L): lanes to schemes
    out["log_m"] = out["log_m"] - _stats.log_second_moment(inputs)
    out["log_norm0"] = out["log_norm0"] - _stats.log_second_moment(inputs[0])
    out["sigma_w2"] = jnp.mean(w2, axis=0)[per_scheme]  # (K,)
    return out

  return run
