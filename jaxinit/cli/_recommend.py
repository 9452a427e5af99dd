"""``jaxinit recommend``: which initialization to use for an activation at a depth, and why."""

import json

NAME = "recommend"
HELP = "which initialization to use for an activation at a depth, and why"


def add_arguments(parser) -> None:
  parser.add_argument("--activation", required=True, help="activation name, e.g. relu, tanh, gelu")
  parser.add_argument("--depth", required=True, help="number of layers, >= 1")
  parser.add_argument("--width", default="256", help="hidden width (default 256)")
  parser.add_argument("--architecture", default="mlp", help="mlp (default) or resnet")
  parser.add_argument("--sigma-b2", default="0.05", help="bias variance of the edge-of-chaos candidate")
  parser.add_argument("--param", default=None, help="negative slope of leaky_relu")
  parser.add_argument("--no-simulate", action="store_true", help="theory only, no confirming sweep")
  parser.add_argument("--seed", default="0", help="the simulation's seed")
  parser.add_argument("--format", default="table", choices=("table", "json"))


def _number(text: str, option: str, kind=float):
  try:
    return kind(text)
  except ValueError:
    raise ValueError(f"{option}={text!r} is not {'an int' if kind is int else 'a number'}") from None


def run(args, console) -> int:
  import jax

  import jaxinit

  options = dict(depth=_number(args.depth, "--depth", int), width=_number(args.width, "--width", int),
                 architecture=args.architecture, sigma_b2=_number(args.sigma_b2, "--sigma-b2"),
                 param=None if args.param is None else _number(args.param, "--param"),
                 simulate=not args.no_simulate, key=jax.random.key(_number(args.seed, "--seed", int)))
  try:
    rec = jaxinit.recommend(args.activation.lower(), **options)
  except ValueError as e:  # name the option, not the keyword argument
    raise ValueError(str(e).replace("recommend: ", "").replace("sigma_b2=", "--sigma-b2=")
                     .replace("depth=", "--depth=").replace("width=", "--width=")
                     .replace("activation=", "--activation=").replace("architecture=", "--architecture=")) from None
  if args.format == "json":
    console.print_json(json.dumps(rec.to_dict()))
  else:
    console.print(rec.summary(), highlight=False, markup=False, soft_wrap=True)
  return 0
