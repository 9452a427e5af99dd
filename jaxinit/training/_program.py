"""The compiled program of a trainability probe: every configuration of one width trained at once.

Per width, one ``jax.jit`` of nested ``vmap`` s (scheme, seed, depth, learning rate) around a
``lax.scan`` over training steps. Hidden layers are stacked ``(n_square, N, N)`` and run by an
inner ``lax.scan``; depths are grouped by powers of two (:func:`depth_buckets`), each group one
vmapped scan as deep as its deepest member, whose layers past a shallower configuration's depth
pass the signal through unchanged (``where``). Weights are drawn inside the program from one
key per seed, the same key for every scheme (common random numbers), and every configuration of
a seed sees the same minibatches. A configuration whose loss or parameters stop being finite
(or whose loss passes ``LOSS_LIMIT``) is frozen at its last finite state: it reports
"diverges" and cannot reach the others, which are independent lanes of the ``vmap``.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class Layout(NamedTuple):
  """What fixes the program's shapes and Python branches (static)."""
  width: int
  n_square: int  # stacked hidden layers: max(depths) - 1, at least 1
  features: int
  outputs: int
  classes: int | None
  steps: int
  batch: int


class Params(NamedTuple):
  """One MLP: an input layer, ``n_square`` stacked hidden layers, a readout."""
  w_in: jax.Array
  b_in: jax.Array
  w_hidden: jax.Array
  b_hidden: jax.Array
  w_out: jax.Array
  b_out: jax.Array


# muP roles of the MLP's parameters (Yang et al., Tensor Programs V, 2022, Table 3): biases are input-like
ROLES = Params("input", "input", "hidden", "input", "output", "fixed")


class Outcome(NamedTuple):
  """Per configuration: the minibatch loss per step (nan after divergence) and the end-of-training numbers."""
  curve: jax.Array
  initial_loss: jax.Array
  train_loss: jax.Array
  test_loss: jax.Array
  train_accuracy: jax.Array
  test_accuracy: jax.Array
  diverged_at: jax.Array  # the first step whose loss or update was not finite, or -1


def forward(params: Params, x, depth, act: Callable):
  """The MLP's output: ``depth`` hidden layers ``x -> act(x W + b)`` then a linear readout."""
  h = act(x @ params.w_in + params.b_in)

  def layer(h, stacked):
    w, b, index = stacked
    return jnp.where(index < depth - 1, act(h @ w + b), h), None

  index = jnp.arange(params.w_hidden.shape[0])
  h, _ = jax.lax.scan(layer, h, (params.w_hidden, params.b_hidden, index))
  return h @ params.w_out + params.b_out


def loss_and_accuracy(outputs, targets, classes: int | None):
  """Mean squared error (regression, accuracy nan) or mean softmax cross-entropy and accuracy."""
  if classes is None:
    return jnp.mean(jnp.square(outputs - targets)), jnp.full((), jnp.nan, outputs.dtype)
  loss = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(outputs, targets))
  return loss, jnp.mean((jnp.argmax(outputs, axis=-1) == targets).astype(outputs.dtype))


def draw(init: Callable, key, layout: Layout, bias_std, readout_scale: float) -> Params:
  """One network's parameters from ``init``; biases N(0, bias_std^2); the readout times ``readout_scale``."""
  k_in, k_hidden, k_out, k_bias = jax.random.split(key, 4)
  n, sq = layout.width, layout.n_square
  w_in = init(k_in, (layout.features, n), jnp.float32)
  # one kernel per call: an initializer need not batch (and LAPACK-based ones must not, see jaxinit.sweep)
  w_hidden = jax.lax.map(lambda k: init(k, (n, n), jnp.float32), jax.random.split(k_hidden, sq))
  w_out = init(k_out, (n, layout.outputs), jnp.float32) * readout_scale
  b_in, b_hidden, b_out = (bias_std * jax.random.normal(k, shape, jnp.float32) for k, shape in
                           zip(jax.random.split(k_bias, 3), ((n,), (sq, n), (layout.outputs,)), strict=True))
  return Params(w_in, b_in, w_hidden, b_hidden, w_out, b_out)


def _all_finite(tree) -> jax.Array:
  leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
  return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def train_one(params: Params, depth, rate, batches, data, *, act: Callable, make_optimizer: Callable,
              layout: Layout, loss_limit: float) -> Outcome:
  """Trains one configuration for ``layout.steps`` steps on the given minibatch indices (steps, batch)."""
  x_train, y_train, x_test, y_test = data
  optimizer = make_optimizer(rate)

  def loss_fn(p, x, y):
    return loss_and_accuracy(forward(p, x, depth, act), y, layout.classes)[0]

  def step(carry, inputs):
    p, state, bad, first_bad = carry
    t, idx = inputs
    loss, grads = jax.value_and_grad(loss_fn)(p, x_train[idx], y_train[idx])
    updates, new_state = optimizer.update(grads, state, p)
    new_p = optax.apply_updates(p, updates)
    ok = jnp.isfinite(loss) & (loss < loss_limit) & _all_finite(new_p)
    now_bad = bad | ~ok
    keep = jax.tree.map(lambda old, new: jnp.where(now_bad, old, new), (p, state), (new_p, new_state))
    first_bad = jnp.where(now_bad & ~bad, t, first_bad)
    shown = jnp.where(bad | ~jnp.isfinite(loss) | (loss >= loss_limit), jnp.nan, loss)
    return (*keep, now_bad, first_bad), shown

  initial = loss_fn(params, x_train, y_train)
  start = (params, optimizer.init(params), jnp.array(False), jnp.array(-1, jnp.int32))
  steps = jnp.arange(layout.steps, dtype=jnp.int32)
  (params, _, _, first_bad), curve = jax.lax.scan(step, start, (steps, batches))
  train = loss_and_accuracy(forward(params, x_train, depth, act), y_train, layout.classes)
  test = loss_and_accuracy(forward(params, x_test, depth, act), y_test, layout.classes)
  return Outcome(curve, initial, train[0], test[0], train[1], test[1], first_bad)


def depth_buckets(depths: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
  """Sorted depths grouped by the bit length of depth - 1: within a group the deepest is < 2x the shallowest.

  Each group runs its own stacked scan of ``max(group) - 1`` layers, in which a shallower
  configuration's extra layers are computed and passed over (``where``). Coarser groups compile
  fewer training loops (about a second each on a CPU) but compute more: on depths 2, 4, 8, 16
  groups of 4x computed 28% more layers and trained 1.45x slower, warm, than these groups of 2x
  (one depth a group there), which compiled 2 s longer (``benchmarks/trainability.py``).
  """
  groups: dict[int, list[int]] = {}
  for d in sorted(depths):
    groups.setdefault(max(d - 1, 1).bit_length(), []).append(d)
  return tuple(tuple(g) for g in groups.values())


def _prefix(params: Params, layers: int) -> Params:
  """The parameters of a shallower stack: the first ``layers`` hidden layers (common random numbers)."""
  return params._replace(w_hidden=params.w_hidden[:, :, :layers], b_hidden=params.b_hidden[:, :, :layers])


def build(inits: tuple[Callable, ...], acts: tuple[Callable, ...], make_optimizer: Callable, layout: Layout,
          depths: tuple[int, ...], loss_limit: float, readout_scale: float):
  """The jitted program of one width.

  Called as ``program(seed_keys (S,), rates (R,), bias_std, data)``; returns an
  :class:`Outcome` per activation with leading axes (K schemes, S seeds, D depths, R rates).
  Depths are grouped by :func:`depth_buckets`, one vmapped scan per group.
  """
  def per_activation(act, seed_keys, rates, bias_std, data):
    init_keys, batch_keys = jax.vmap(lambda k: jax.random.split(k, 2), out_axes=1)(seed_keys)
    n_train = data[0].shape[0]

    def batches_of(key):  # (steps, batch) indices, without replacement within a step
      keys = jax.random.split(key, layout.steps)
      return jax.vmap(lambda k: jax.random.permutation(k, n_train)[:layout.batch])(keys)

    batches = jax.vmap(batches_of)(batch_keys)  # (S, steps, batch)
    params = [jax.vmap(lambda k, init=init: draw(init, k, layout, bias_std, readout_scale))(init_keys)
              for init in inits]
    params = jax.tree.map(lambda *xs: jnp.stack(xs), *params)  # (K, S, ...)
    one = lambda p, d, r, b: train_one(p, d, r, b, data, act=act, make_optimizer=make_optimizer,  # noqa: E731
                                       layout=layout, loss_limit=loss_limit)
    fn = jax.vmap(one, in_axes=(None, None, 0, None))  # rates
    fn = jax.vmap(fn, in_axes=(None, 0, None, None))  # depths
    fn = jax.vmap(fn, in_axes=(0, None, None, 0))  # seeds
    fn = jax.vmap(fn, in_axes=(0, None, None, None))  # schemes
    outs = [fn(_prefix(params, max(max(group) - 1, 1)), jnp.asarray(group, jnp.int32), rates, batches)
            for group in depth_buckets(depths)]
    return jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=2), *outs)

  def program(seed_keys, rates, bias_std, data):
    return tuple(per_activation(act, seed_keys, rates, bias_std, data) for act in acts)

  return jax.jit(program)
