"""Reading the traced program: which activation follows each layer, and which blocks are residual.

The capture wraps every module call's input and output in identity functions named ``jaxinit_in_<i>`` and
``jaxinit_out_<i>``; the equations that consume a layer's marked output tell which activation follows it,
and a block whose output is a chain of additions reaching its own input is a residual block.
"""

from typing import NamedTuple

from jaxinit.diagnosis._capture import MARK_IN, MARK_OUT

# names of jax.nn functions (their jit names in a program) and the jaxinit activation each one is
_JIT_ACTIVATIONS = {"relu": "relu", "relu6": "relu", "leaky_relu": "leaky_relu", "elu": "elu", "celu": "elu",
                    "selu": "selu", "gelu": "gelu", "silu": "silu", "swish": "silu", "softplus": "softplus",
                    "sigmoid": "sigmoid", "tanh": "tanh", "mish": "mish"}
_PRIMITIVE_ACTIVATIONS = {"tanh": "tanh", "logistic": "sigmoid"}
RECTIFIERS = ("relu",)
_SQRT_HALF = 0.7071067811865476


class Flow(NamedTuple):
  """What the program says about one call."""
  activation_in: str | None  # the activation applied to the call's input ("identity": another layer's output)
  activation_out: str | None  # the activation applied to the call's output
  residual: bool  # the call's output is its input plus something


def _name(eqn) -> str | None:
  return eqn.params.get("name") if eqn.primitive.name in ("jit", "pjit") else None


def _inner_activation(jaxpr) -> str | None:
  for eqn in jaxpr.eqns:
    if _name(eqn) in _JIT_ACTIVATIONS:
      return _JIT_ACTIVATIONS[_name(eqn)]
    if eqn.primitive.name == "max":
      return "relu"
  return None


def _literal_values(eqn) -> list[float]:
  values = []
  for v in eqn.invars:
    if hasattr(v, "val"):
      try:
        values.append(float(v.val))
      except (TypeError, ValueError):
        pass
  return values


def _classify(eqn) -> str | None:
  """The activation whose first equation is ``eqn``, if it is one this module recognises."""
  prim = eqn.primitive.name
  if _name(eqn) in _JIT_ACTIVATIONS:
    return _JIT_ACTIVATIONS[_name(eqn)]
  if prim == "custom_jvp_call":
    return _inner_activation(eqn.params["call_jaxpr"].jaxpr)
  if prim in _PRIMITIVE_ACTIVATIONS:
    return _PRIMITIVE_ACTIVATIONS[prim]
  if prim == "integer_pow" and eqn.params.get("y") == 3:
    return "gelu"  # x * 0.5 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))
  if prim == "mul" and any(abs(abs(v) - _SQRT_HALF) < 1e-6 for v in _literal_values(eqn)):
    return "gelu_exact"  # x * erfc(-x / sqrt(2)) / 2
  return None


class _Graph:
  def __init__(self, jaxpr):
    self.position, self.producer, self.consumers = {}, {}, {}
    self.marks_in, self.marks_out = {}, {}
    for position, eqn in enumerate(jaxpr.eqns):
      self.position[id(eqn)] = position
      for v in eqn.outvars:
        self.producer[v] = eqn
      for v in eqn.invars:
        if not hasattr(v, "val"):
          self.consumers.setdefault(v, []).append(eqn)
      name = _name(eqn) or ""
      if name.startswith(MARK_IN):
        self.marks_in[int(name[len(MARK_IN):])] = eqn
      elif name.startswith(MARK_OUT):
        self.marks_out[int(name[len(MARK_OUT):])] = eqn

  def activation_after(self, var):
    """(name, output var) of the single activation applied to ``var``, or (None, None)."""
    users = self.consumers.get(var, [])
    while len(users) == 1 and (_name(users[0]) or "").startswith(MARK_OUT):  # the layer ends its parent too
      var = users[0].outvars[0]
      users = self.consumers.get(var, [])
    names = {_classify(eqn) for eqn in users} - {None}
    if len(names) != 1:
      return None, None
    name = names.pop()
    if name in ("gelu", "gelu_exact"):  # several equations; the last one that reads var gives the result
      last = max(users, key=lambda eqn: self.position[id(eqn)])
      return name, last.outvars[0]
    user = next(eqn for eqn in users if _classify(eqn) == name)
    return name, user.outvars[0]

  @staticmethod
  def is_mark_in(eqn) -> bool:
    return eqn is not None and (_name(eqn) or "").startswith(MARK_IN)

  def adds_back_to(self, var, target, budget: int = 32) -> bool:
    stack = [var]
    while stack and budget > 0:
      budget -= 1
      eqn = self.producer.get(stack.pop())
      if eqn is None or eqn.primitive.name not in ("add", "add_any", "sub"):
        continue
      for operand in eqn.invars:
        if operand is target:
          return True
        if not hasattr(operand, "val"):
          stack.append(operand)
    return False


def analyse(jaxpr, n_calls: int) -> tuple[Flow, ...]:
  """One :class:`Flow` per call, read from the program traced while planning."""
  graph = _Graph(jaxpr)
  after, produced_by_layer = {}, {}
  for index, eqn in graph.marks_out.items():
    out_var = eqn.outvars[0]
    produced_by_layer[out_var] = index
    name, act_var = graph.activation_after(out_var)
    after[index] = name
    if act_var is not None:
      produced_by_layer[act_var] = (index, name)
  flows = []
  for index in range(n_calls):
    mark_in, mark_out = graph.marks_in.get(index), graph.marks_out.get(index)
    activation_in = residual = None
    if mark_in is not None:
      var = mark_in.invars[0]
      while var not in produced_by_layer and graph.is_mark_in(graph.producer.get(var)):
        var = graph.producer[var].invars[0]  # the layer starts its parent too
      source = produced_by_layer.get(var)
      if isinstance(source, tuple):
        activation_in = source[1]
      elif source is not None:
        activation_in = "identity"
    if mark_in is not None and mark_out is not None:
      residual = graph.adds_back_to(mark_out.invars[0], mark_in.outvars[0])
    flows.append(Flow(activation_in, after.get(index), bool(residual)))
  return tuple(flows)
