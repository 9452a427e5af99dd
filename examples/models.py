"""Small Flax nnx models for `jaxinit diagnose FILE.py:FACTORY`: one healthy, one that warns.

  jaxinit diagnose examples/models.py:he_relu_mlp --input-shape 64,128       # no warnings: exit status 0
  jaxinit diagnose examples/models.py:lecun_relu_mlp --input-shape 64,128    # the signal fades: exit status 1
"""

from flax import nnx

import jaxinit


def _mlp(kernel_init, depth: int = 30, width: int = 128):
  rngs = nnx.Rngs(0)
  layers = []
  for _ in range(depth):
    layers += [nnx.Linear(width, width, kernel_init=kernel_init, rngs=rngs), nnx.relu]
  return nnx.Sequential(*layers, nnx.Linear(width, 10, kernel_init=jaxinit.lecun_normal(), rngs=rngs))


def he_relu_mlp():
  """A 30-layer ReLU MLP with He's variance 2 / fan_in: healthy at any depth (He et al. 2015)."""
  return _mlp(jaxinit.he_normal())


def lecun_relu_mlp():
  """The same MLP with LeCun's 1 / fan_in: each ReLU layer halves the signal, 2^-30 by the top."""
  return _mlp(jaxinit.lecun_normal())
