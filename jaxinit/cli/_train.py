"""`jaxinit train`: train every scheme x activation x width x depth MLP and write a trainability report.

Every option is checked before anything compiles; bad input raises ``ValueError`` naming the
option and its value.
"""

import json
import time
from pathlib import Path

from jaxinit.cli import _common

NAME = "train"
HELP = "train an MLP per scheme x activation x width x depth; write a trainability report"
DEFAULTS = {"schemes": "he_normal,lecun_normal", "activations": "relu,tanh", "depths": "2,4,8,16,32",
            "widths": "32", "seeds": "2", "steps": "300", "lr": "0.01", "task": "teacher", "batch": "64"}
TASKS = ("teacher", "mixture", "digits")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")


def add_arguments(parser) -> None:
  """The sweep's grid options, and the training ones."""
  d = DEFAULTS
  parser.add_argument("--schemes", default=d["schemes"], metavar="A,B",
                      help="scheme names (default %(default)s)")
  parser.add_argument("--sigma-w2", default=None, metavar="GRID",
                      help="a sigma_w^2 grid instead of named schemes: 1,2,3 or START:STOP:STEP "
                           "(Gaussian, fan_in)")
  parser.add_argument("--activations", default=d["activations"], metavar="A,B", help="(default %(default)s)")
  parser.add_argument("--depths", default=d["depths"], metavar="RANGE",
                      help="hidden layers: a list 2,4,8 or a range 2:32:2 (default %(default)s)")
  parser.add_argument("--widths", default=d["widths"], metavar="N,N", help="(default %(default)s)")
  parser.add_argument("--seeds", default=d["seeds"], help="networks per configuration (default %(default)s)")
  parser.add_argument("--steps", default=d["steps"], help="optimizer steps (default %(default)s)")
  parser.add_argument("--lr", default=d["lr"], metavar="RATES", help="learning rate(s), comma-separated "
                      "(default %(default)s)")
  parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="(default %(default)s)")
  parser.add_argument("--task", choices=TASKS, default=d["task"],
                      help="teacher regression, Gaussian mixture, or scikit-learn digits "
                           "(default %(default)s)")
  parser.add_argument("--batch", default=d["batch"], help="examples per step (default %(default)s)")
  parser.add_argument("--bias-std", default="0", help="std of the biases (default %(default)s)")
  parser.add_argument("--seed", default="0", help="PRNG seed (default %(default)s)")
  parser.add_argument("--out", default="jaxinit-train", metavar="DIR",
                      help="report folder (default ./%(default)s)")
  parser.add_argument("--format", choices=("table", "json"), default="table",
                      help="stdout: table or JSON summary")


def _positive_floats(text: str, option: str) -> tuple[float, ...]:
  """``1,2,3``, ``START:STOP`` (points evenly spaced) or ``START:STOP:STEP``, every value > 0."""
  values = _common.parse_float_grid(text, option, points=7)
  if values[0] <= 0:
    raise ValueError(f"{option} {text!r}: every value must be > 0")
  return values


def options(args) -> dict:
  """The keyword arguments of :func:`jaxinit.trainability`, every option checked (nothing compiles)."""
  import jax

  sigma_w2 = None if args.sigma_w2 is None else _positive_floats(args.sigma_w2, "--sigma-w2")
  bias_std = _common.parse_float(args.bias_std, "--bias-std", 0.0)
  schemes = None
  if sigma_w2 is None:
    schemes = _common.parse_scheme_names(args.schemes, "--schemes")
  activations = _common.parse_activation_names(args.activations, "--activations")
  return dict(
      schemes=schemes, sigma_w2=sigma_w2, activations=activations,
      depths=_common.parse_int_list(args.depths, "--depths", 1),
      widths=_common.parse_int_list(args.widths, "--widths", 1),
      seeds=_common.parse_int(args.seeds, "--seeds", 1), steps=_common.parse_int(args.steps, "--steps", 1),
      learning_rate=_positive_floats(args.lr, "--lr"), optimizer=args.optimizer, data=args.task,
      batch=_common.parse_int(args.batch, "--batch", 1), bias_std=bias_std,
      key=jax.random.key(_common.parse_int(args.seed, "--seed", 0)))


def _out_dir(text: str) -> Path:
  path = Path(text).expanduser()
  try:
    path.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise ValueError(f"--out {text!r}: cannot write there ({e.strerror or e})") from None
  return path


def run(args, console) -> int:
  """Runs ``jaxinit train``: checks, trains, writes the report, prints the summary; returns 0."""
  import jaxinit
  from jaxinit.training import _report

  kwargs = options(args)
  if kwargs["data"] == "digits":
    try:
      import sklearn  # noqa: F401
    except ImportError:
      raise ValueError("--task 'digits': needs scikit-learn (pip install scikit-learn)") from None
  out = _out_dir(args.out)
  start = time.perf_counter()
  result = jaxinit.trainability(**kwargs)
  elapsed = time.perf_counter() - start
  files = _report.write(result, out, elapsed=elapsed)
  if args.format == "json":
    summary = {"parameters": result.parameters(), "elapsed_s": round(elapsed, 3), "out": str(out),
               "files": [str(f) for f in files], "summary": _report.summary_rows(result)}
    console.print_json(json.dumps(summary))
  else:
    result.summary(console)
    console.print(f"wrote {out / 'index.html'} ({', '.join(f.name for f in files[:-1])}) in {elapsed:.1f} s",
                  soft_wrap=True)
  return 0
