"""`jaxinit diagnose FILE.py:FACTORY --input-shape 32,784`: the per-layer table and warnings of your own model.

The factory returns an nnx module, or a linen module and its variables. Exit status 0 without warnings,
1 with warnings (so it can gate CI), 2 on bad input (a ``ValueError`` naming the option and its value).
``--calibrate OUT`` also runs LSUV and writes the calibrated parameters with ``flax.serialization``.
"""

import argparse
import importlib.util
import math
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
from flax import linen as nn
from flax import nnx, serialization
from rich.console import Console

from jaxinit.diagnosis import Thresholds, calibrate, diagnose
from jaxinit.report import write_atomically

NAME = "diagnose"
HELP = "diagnose your own Flax model's initialization (table, warnings, optional LSUV calibration)"
INPUT_DTYPES = ("float32", "bfloat16", "float16", "int32")


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("model", metavar="FILE.py:FACTORY",
                      help="a Python file and a function in it returning an nnx module, or (linen module, variables)")
  parser.add_argument("--input-shape", required=True, metavar="N,D,...", help="shape of the input batch, e.g. 32,784")
  parser.add_argument("--input-dtype", default="float32", help=f"one of {', '.join(INPUT_DTYPES)} (default float32)")
  parser.add_argument("--vocab", type=str, default=None,
                      help="int32 inputs: tokens are drawn uniformly from [0, VOCAB)")
  parser.add_argument("--seed", default="0", help="seed of the random input batch (default 0)")
  parser.add_argument("--drift", default="10", help="forward / gradient drift factor that warns (default 10)")
  parser.add_argument("--format", default="table", help="table (default) or json")
  parser.add_argument("--calibrate", default=None, metavar="OUT",
                      help="also calibrate (LSUV) and write the calibrated parameters to OUT (flax msgpack)")


def _positive_ints(text: str, option: str) -> tuple[int, ...]:
  try:
    values = tuple(int(s) for s in str(text).split(","))
  except ValueError:
    raise ValueError(f"{option} {text!r}: not a comma-separated list of integers") from None
  if not values or min(values) < 1:
    raise ValueError(f"{option} {text!r}: every entry must be an integer >= 1")
  return values


def _number(text: str, option: str, minimum: float) -> float:
  try:
    value = float(text)
  except ValueError:
    raise ValueError(f"{option} {text!r}: not a number") from None
  if not math.isfinite(value) or value <= minimum:
    raise ValueError(f"{option} {text!r}: must be a finite number > {minimum:g}")
  return value


def load_factory(spec: str):
  """The function named by ``FILE.py:FACTORY``."""
  path_text, sep, name = str(spec).rpartition(":")
  if not sep or not path_text or not name.isidentifier():
    raise ValueError(f"model {spec!r}: expected FILE.py:FACTORY")
  path = Path(path_text)
  if not path.is_file():
    raise ValueError(f"model {spec!r}: file {path_text!r} does not exist")
  module_spec = importlib.util.spec_from_file_location(f"jaxinit_user_model_{abs(hash(str(path.resolve())))}", path)
  module = importlib.util.module_from_spec(module_spec)
  try:
    module_spec.loader.exec_module(module)
  except Exception as err:  # the user's file: any error is bad input
    raise ValueError(f"model {spec!r}: importing {path_text!r} raised {type(err).__name__}: {err}") from None
  factory = getattr(module, name, None)
  if not callable(factory):
    raise ValueError(f"model {spec!r}: {path_text!r} has no function {name!r}")
  return factory


def build(spec: str) -> tuple:
  """``(model, extra)``: ``extra`` is ``(variables,)`` for linen and ``()`` for nnx."""
  factory = load_factory(spec)
  try:
    made = factory()
  except Exception as err:  # the user's factory: any error is bad input
    raise ValueError(f"model {spec!r}: {factory.__name__}() raised {type(err).__name__}: {err}") from None
  if isinstance(made, nnx.Module):
    return made, ()
  if isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], nn.Module):
    return made[0], (made[1],)
  raise ValueError(f"model {spec!r}: {factory.__name__}() returned {type(made).__name__}; expected an nnx module "
                   "or (linen module, variables)")


def make_input(args) -> jax.Array:
  shape = _positive_ints(args.input_shape, "--input-shape")
  if args.input_dtype not in INPUT_DTYPES:
    raise ValueError(f"--input-dtype {args.input_dtype!r}: expected one of {', '.join(INPUT_DTYPES)}")
  try:
    seed = int(args.seed)
  except ValueError:
    raise ValueError(f"--seed {args.seed!r}: not an integer") from None
  key = jax.random.key(seed)
  if args.input_dtype == "int32":
    if args.vocab is None:
      raise ValueError("--vocab: required with --input-dtype int32 (tokens are drawn from [0, VOCAB))")
    vocab = int(_positive_ints(args.vocab, "--vocab")[0])
    return jax.random.randint(key, shape, 0, vocab, jnp.int32)
  if args.vocab is not None:
    raise ValueError(f"--vocab {args.vocab!r}: only with --input-dtype int32")
  return jax.random.normal(key, shape, jnp.dtype(args.input_dtype))


def write_atomic(path: Path, data: bytes) -> None:
  write_atomically(path, lambda f: f.write(data), binary=True)


def _calibrated_bytes(model, extra, x) -> tuple[bytes, tuple]:
  result, log = calibrate(model, *extra, x)
  if extra:
    return serialization.to_bytes(result["params"]), log
  return serialization.to_bytes(nnx.to_pure_dict(nnx.state(result, nnx.Param))), log


def run(args, console: Console) -> int:
  if args.format not in ("table", "json"):
    raise ValueError(f"--format {args.format!r}: expected table or json")
  thresholds = Thresholds(drift=_number(args.drift, "--drift", 1.0))
  out = None
  if args.calibrate is not None:
    out = Path(args.calibrate)
    if not out.parent.is_dir() or out.is_dir():
      raise ValueError(f"--calibrate {args.calibrate!r}: cannot write a file there")
  x = make_input(args)
  model, extra = build(args.model)
  result = diagnose(model, *extra, x, thresholds=thresholds)
  if args.format == "json":
    console.out(result.to_json(), highlight=False)
  else:
    console.print(result.table())
    for warning in result.warnings:
      console.print(str(warning), markup=False, highlight=False)
    if not result.warnings:
      console.print("no warnings")
  if out is not None:
    data, log = _calibrated_bytes(model, extra, x)
    write_atomic(out, data)
    line = f"calibrated {len(log)} layers ({sum(step.converged for step in log)} converged); wrote {out}"
    if args.format == "json":
      print(line, file=sys.stderr)  # stdout stays one JSON document
    else:
      console.print(line, markup=False, highlight=False)
  return 1 if result.warnings else 0
