"""Capturing every layer's input, output and output gradient in one jitted forward and backward pass.

Each module call is intercepted (linen: ``flax.linen.intercept_methods``; nnx: ``__call__`` of the classes of a
merged copy of the model, wrapped for the duration of one trace and restored after it; calls of objects that
are not part of that copy pass through unchanged). A parametrised layer's output gets a zero perturbation
added, whose gradient is the gradient of the loss with respect to that output. Inputs and outputs are also
wrapped in named identity functions, so the traced program shows which activation follows each layer.
"""

import contextlib
import contextvars
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax import nnx

from jaxinit.diagnosis import _layers

MARK_IN, MARK_OUT = "jaxinit_in_", "jaxinit_out_"


class LayerError(ValueError):
  """A layer rejected its input: the message names the layer."""


class CallInfo(NamedTuple):
  """One module call, known from tracing: where it is, what it is, and the shapes that went through it."""
  index: int
  path: str
  kind: str
  layout: _layers.Layout | None  # None: a module without parameters of its own (a container)
  param_key: tuple | None  # the module's key path in the parameter tree
  in_shape: tuple[int, ...] | None
  out_shape: tuple[int, ...] | None
  out_dtype: Any


@functools.lru_cache(maxsize=4096)
def _mark(name: str):
  def identity(x):
    return x
  identity.__name__ = name
  return jax.jit(identity)


def _is_array(x) -> bool:
  return isinstance(x, (jax.Array, np.ndarray)) and jnp.issubdtype(x.dtype, jnp.inexact)


def _replace_first_array(tree, fn):
  leaves, treedef = jax.tree.flatten(tree)
  for i, leaf in enumerate(leaves):
    if _is_array(leaf):
      new = fn(leaf)
      leaves[i] = new
      return jax.tree.unflatten(treedef, leaves), leaf, new
  return tree, None, None


def display_path(path: tuple) -> str:
  return "/".join(str(p) for p in path) if path else "<root>"


class _Recorder:
  """State of one trace: the calls seen so far, and the perturbations to add (None while planning)."""

  def __init__(self, perturbations: dict | None):
    self.perturbations = perturbations
    self.calls: list[CallInfo] = []
    self.records: list[tuple] = []  # (input, output) per call, in call order
    self.active: set[int] = set()
    self.nnx_paths: dict[int, tuple] = {}

  def call(self, module, path: tuple, params: dict, run: Callable, args, kwargs):
    index = len(self.calls)
    kind = type(module).__name__
    self.calls.append(None)  # reserve the slot: calls are numbered in the order they start
    args, x, x_marked = _replace_first_array(args, _mark(f"{MARK_IN}{index}"))
    try:
      out = run(*args, **kwargs)
    except LayerError:
      raise
    except (TypeError, ValueError) as err:
      shape = None if x is None else tuple(x.shape)
      raise LayerError(f"layer {display_path(path)!r} ({kind}) rejected its input of shape {shape}: {err}") from err
    layout = None
    if params:
      out_probe = next((leaf for leaf in jax.tree.leaves(out) if _is_array(leaf)), None)
      layout = _layers.layout(module, {k: tuple(v.shape) for k, v in params.items()},
                              None if x is None or x.ndim == 0 else x.shape[-1],
                              None if out_probe is None or out_probe.ndim == 0 else out_probe.shape[-1],
                              kwargs.get("einsum_str"))

    def perturb(y):
      if layout is not None and self.perturbations is not None:
        y = y + self.perturbations[index].astype(y.dtype)
      return _mark(f"{MARK_OUT}{index}")(y)

    out, _, y = _replace_first_array(out, perturb)
    self.calls[index] = CallInfo(index, display_path(path), kind, layout, path if params else None,
                                 None if x is None else tuple(x.shape), None if y is None else tuple(y.shape),
                                 None if y is None else y.dtype)
    self.records.append((index, x_marked, y))
    return out


_ACTIVE: contextvars.ContextVar[_Recorder | None] = contextvars.ContextVar("jaxinit_diagnose", default=None)


def _nnx_direct_params(module) -> dict:
  return {name: v for name, v in vars(module).items() if isinstance(v, nnx.Param)}


def _nnx_wrapper(original):
  @functools.wraps(original)
  def __call__(self, *args, **kwargs):
    rec = _ACTIVE.get()
    if rec is None or id(self) not in rec.nnx_paths or id(self) in rec.active:
      return original(self, *args, **kwargs)
    rec.active.add(id(self))
    try:
      params = {k: v[...] for k, v in _nnx_direct_params(self).items()}
      return rec.call(self, rec.nnx_paths[id(self)], params, functools.partial(original, self), args, kwargs)
    finally:
      rec.active.discard(id(self))
  __call__.jaxinit_wrapped = True
  return __call__


@contextlib.contextmanager
def _nnx_intercept(model, rec: _Recorder):
  """Wraps ``__call__`` of the classes in ``model`` (a merged copy) for one trace, then restores them."""
  classes = []
  for path, module in nnx.iter_modules(model):
    rec.nnx_paths[id(module)] = tuple(path)
    if type(module) not in classes:
      classes.append(type(module))
  saved = []
  try:
    for cls in classes:
      saved.append((cls, cls.__dict__.get("__call__")))
      cls.__call__ = _nnx_wrapper(cls.__call__)
    token = _ACTIVE.set(rec)
    try:
      yield
    finally:
      _ACTIVE.reset(token)
  finally:
    for cls, original in reversed(saved):
      if original is None:
        del cls.__call__
      else:
        cls.__call__ = original


def _linen_interceptor(rec: _Recorder):
  def interceptor(next_fun, args, kwargs, context):
    module = context.module
    if context.method_name != "__call__" or id(module) in rec.active:
      return next_fun(*args, **kwargs)
    rec.active.add(id(module))
    try:
      params = {k: v for k, v in module.variables.get("params", {}).items() if not isinstance(v, dict)}
      return rec.call(module, tuple(module.path), params, next_fun, args, kwargs)
    finally:
      rec.active.discard(id(module))
  return interceptor


class Static(NamedTuple):
  """Everything about a diagnosis that is not an array: the jit cache key."""
  framework: str  # "nnx" or "linen"
  definition: Any  # nnx GraphDef or linen Module
  args_treedef: Any
  static_leaves: tuple
  loss: Callable
  call: Callable | None
  calls: tuple  # the CallInfo of every call, from planning


def _forward(static: Static, params, others, arrays, rec: _Recorder):
  leaves = list(static.static_leaves)
  it = iter(arrays)
  leaves = [next(it) if leaf is _DYNAMIC else leaf for leaf in leaves]
  args, kwargs = jax.tree.unflatten(static.args_treedef, leaves)
  if static.framework == "nnx":
    model = nnx.merge(static.definition, params, others)
    with _nnx_intercept(model, rec):
      return static.call(model, *args, **kwargs) if static.call else model(*args, **kwargs)
  variables = {"params": params, **others}
  with nn.intercept_methods(_linen_interceptor(rec)):
    if static.call:
      return static.call(static.definition, variables, *args, **kwargs)
    mutable = [c for c in others if c != "params"] or False
    out = static.definition.apply(variables, *args, mutable=mutable, **kwargs)
    return out[0] if mutable else out


class _Dynamic:
  def __repr__(self):
    return "<array>"


_DYNAMIC = _Dynamic()


def split_args(args, kwargs):
  """Array leaves are traced; everything else (flags, None, ints) is static."""
  leaves, treedef = jax.tree.flatten((args, kwargs), is_leaf=lambda x: x is None)
  arrays = [leaf for leaf in leaves if isinstance(leaf, (jax.Array, np.ndarray))]
  static = tuple(_DYNAMIC if isinstance(leaf, (jax.Array, np.ndarray)) else leaf for leaf in leaves)
  return treedef, static, arrays


def plan(static: Static, params, others, arrays):
  """Traces the forward pass once: the calls in order and the program, for the jaxpr analysis."""
  rec = _Recorder(None)

  def forward(params, others, arrays):
    return _forward(static, params, others, arrays, rec)

  closed = jax.make_jaxpr(forward)(params, others, arrays)
  return tuple(rec.calls), closed.jaxpr


def first_array(out):
  leaf = next((leaf for leaf in jax.tree.leaves(out) if _is_array(leaf)), None)
  if leaf is None:
    raise ValueError(f"diagnose: the model returned no floating-point array (got {type(out).__name__})")
  return leaf
