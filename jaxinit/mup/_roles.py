"""The muP role of every parameter of a Flax model, inferred from its shapes against a base model's."""

import fnmatch
from collections.abc import Callable
from typing import NamedTuple

import jax

from jaxinit.mup import _rules


class Role(NamedTuple):
  """One parameter's muP role and width multipliers (``fan / base fan``)."""
  role: str
  fan_in_mult: float
  fan_out_mult: float


def _key_name(entry) -> str | None:
  for attr in ("key", "name", "idx"):
    if hasattr(entry, attr):
      return str(getattr(entry, attr))
  return str(entry)


def param_path(path) -> str:
  """``"layer/kernel"`` from a jax key path; an nnx Variable's trailing ``.value`` is dropped."""
  names = [_key_name(e) for e in path]
  if names and names[-1] == "value" and isinstance(path[-1], jax.tree_util.GetAttrKey):
    names = names[:-1]
  return "/".join(names)


def _is_variable(x) -> bool:
  from flax import nnx

  return isinstance(x, nnx.Variable)


def _shapes(tree, where: str) -> dict[str, tuple[int, ...]]:
  """Path -> shape of every parameter of an nnx Module, an nnx State, or a (linen) pytree of arrays."""
  from flax import nnx

  if isinstance(tree, nnx.Module):
    tree = nnx.state(tree, nnx.Param)
  elif isinstance(tree, dict) and "params" in tree and not any(hasattr(v, "shape") for v in tree.values()):
    tree = tree["params"]  # linen variables: the parameters collection
  leaves = jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_variable)[0]
  out = {}
  for path, leaf in leaves:
    value = leaf.get_value() if _is_variable(leaf) else leaf
    shape = getattr(value, "shape", None)
    if shape is None:
      raise ValueError(f"{where}: parameter {param_path(path)!r} is {type(value).__name__}, not an array")
    out[param_path(path)] = tuple(int(d) for d in shape)
  if not out:
    raise ValueError(f"{where}: found no parameters in {type(tree).__name__}")
  return out


def _infer_one(name: str, shape, base, where: str) -> Role:
  if len(shape) != len(base):
    raise ValueError(f"{where}: parameter {name!r} has shape {shape} but {base} in the base model")
  if len(shape) == 0:
    return Role("fixed", 1.0, 1.0)
  fan_in, base_in = (shape[-2], base[-2]) if len(shape) >= 2 else (1, 1)
  fan_out, base_out = shape[-1], base[-1]
  if shape[:-2] != base[:-2]:
    raise ValueError(f"{where}: parameter {name!r} grows along an axis other than its last two "
                     f"({base} -> {shape}); "
                     "give its role in overrides")
  for label, n, b in (("fan_in", fan_in, base_in), ("fan_out", fan_out, base_out)):
    if n < b:
      raise ValueError(f"{where}: parameter {name!r} has {label} {n} below the base model's {b} "
                       f"(shape {shape}, base {base}); the base width must not exceed the width")
  role = _rules.role_of(fan_in != base_in, fan_out != base_out)
  return Role(role, fan_in / base_in, fan_out / base_out)


class ParamRoles:
  """The muP role of every parameter, by path (``"layers/0/kernel"``); call it on params for a label tree.

  ``roles(params)`` maps any tree with the same paths (an nnx ``State``, its pure form,
  linen params) to a tree of role names: a ``param_labels`` for ``optax.multi_transform``.
  """

  def __init__(self, entries: dict[str, Role]):
    self.entries = dict(entries)

  def __getitem__(self, path: str) -> Role:
    return self.entries[path]

  def __call__(self, params):
    def label(path, leaf):
      del leaf
      return self._lookup(param_path(path)).role
    return jax.tree_util.tree_map_with_path(label, params, is_leaf=_is_variable)

  def _lookup(self, name: str) -> Role:
    if name not in self.entries:
      raise KeyError(f"muP roles: no parameter {name!r}; the roles know {', '.join(sorted(self.entries))}")
    return self.entries[name]

  def factor_labels(self, optimizer: str) -> tuple[dict[str, float], Callable]:
    """(label -> learning-rate factor, params -> label tree) for ``optax.multi_transform``."""
    factor = lambda r: _rules.learning_rate_factor(r.role, r.fan_in_mult, r.fan_out_mult, optimizer)  # noqa: E731
    names = {path: f"{r.role}*{factor(r):.12g}" for path, r in self.entries.items()}
    factors = {label: float(label.split("*", 1)[1]) for label in names.values()}

    def labels(params):
      def label(path, leaf):
        del leaf
        name = param_path(path)
        self._lookup(name)  # a clear KeyError for a path the roles do not know
        return names[name]
      return jax.tree_util.tree_map_with_path(label, params, is_leaf=_is_variable)

    return factors, labels

  def __repr__(self) -> str:
    rows = [f"  {path}: {r.role} (fan_in x{r.fan_in_mult:g}, fan_out x{r.fan_out_mult:g})"
            for path, r in self.entries.items()]
    return "ParamRoles(\n" + "\n".join(rows) + "\n)"


def infer_roles(params, base, *, overrides: dict[str, str] | None = None) -> ParamRoles:
  """Infers each parameter's muP role by comparing its shape with the base model's.

  A kernel ``(..., fan_in, fan_out)`` (Flax's layout, ``nnx.Linear``, ``nnx.Conv``,
  ``nnx.Embed``'s ``(vocab, features)``) is ``hidden`` when both fans differ from the base
  model's, ``input`` when only fan_out does (biases and embeddings too), ``output`` when only
  fan_in does (the readout), ``fixed`` when neither does. Nothing is subclassed: build the
  base model at the base width, abstractly (``nnx.eval_shape``) if it is large.

  Args:
    params: the model: an ``nnx.Module``, an ``nnx.State``, or linen ``params`` (or the
      ``variables`` dict that holds them).
    base: the same model at the base width, in the same form.
    overrides: ``{path pattern: role}``, fnmatch patterns on ``"layer/kernel"`` paths, applied
      in order; e.g. ``{"attn/*": "hidden"}``.

  Returns:
    A :class:`ParamRoles`.

  Raises:
    ValueError: parameters whose paths or ranks differ, a fan below the base's (the base
      width larger than the width), growth along another axis, or an unknown override role.

  Examples:
    >>> import jax.numpy as jnp, jaxinit
    >>> shapes = lambda n: {"inp": {"kernel": jnp.zeros((3, n)), "bias": jnp.zeros(n)},
    ...                     "hid": {"kernel": jnp.zeros((n, n))}, "out": {"kernel": jnp.zeros((n, 2))}}
    >>> roles = jaxinit.mup.infer_roles(shapes(256), shapes(64))
    >>> [roles[p].role for p in ("inp/kernel", "inp/bias", "hid/kernel", "out/kernel")]
    ['input', 'input', 'hidden', 'output']

  References:
    Yang et al., Tensor Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer, 2022.
  """
  where = "infer_roles"
  shapes, base_shapes = _shapes(params, where), _shapes(base, where)
  if set(shapes) != set(base_shapes):
    extra, missing = sorted(set(shapes) - set(base_shapes)), sorted(set(base_shapes) - set(shapes))
    raise ValueError(f"{where}: the model and the base model have different parameters: only in the model "
                     f"{extra}, only in the base {missing}")
  entries = {name: _infer_one(name, shape, base_shapes[name], where) for name, shape in shapes.items()}
  for pattern, role in (overrides or {}).items():
    _rules.check_role(role, where)
    matched = [name for name in entries if fnmatch.fnmatchcase(name, pattern)]
    if not matched:
      raise ValueError(f"{where}: override {pattern!r} matches no parameter; paths are {', '.join(entries)}")
    for name in matched:
      entries[name] = entries[name]._replace(role=role)
  return ParamRoles(entries)
