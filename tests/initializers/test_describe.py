"""What an initializer draws: every jaxinit initializer carries a Description, and describe() reads only it."""

import jax
import jax.numpy as jnp
import pytest

import jaxinit

ALL = {
    "he_normal": jaxinit.he_normal(), "glorot_uniform": jaxinit.glorot_uniform(),
    "lecun_normal": jaxinit.lecun_normal(), "torch_default_kernel": jaxinit.torch_default_kernel(),
    "for_activation": jaxinit.for_activation("tanh"), "orthogonal": jaxinit.orthogonal(1.5),
    "delta_orthogonal": jaxinit.delta_orthogonal(), "identity": jaxinit.identity(), "dirac": jaxinit.dirac(),
    "sparse": jaxinit.sparse(0.5), "normal": jaxinit.normal(), "truncated_normal": jaxinit.truncated_normal(),
    "uniform": jaxinit.uniform(), "constant": jaxinit.constant(1.0), "zeros": jaxinit.zeros,
    "ones": jaxinit.ones, "torch_default_bias": jaxinit.torch_default_bias(8),
}
VARIANCE_SCALING = {"he_normal": (2.0, "fan_in", "truncated_normal"),
                    "glorot_uniform": (1.0, "fan_avg", "uniform"),
                    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
                    "torch_default_kernel": (1.0 / 3.0, "fan_in", "uniform"),
                    "for_activation": (jaxinit.gain("tanh") ** 2, "fan_in", "truncated_normal")}


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_initializer_carries_its_description(name):
  init = ALL[name]
  assert isinstance(init.description, jaxinit.Description)
  drawn = jaxinit.describe(init)
  assert drawn is init.description
  if name in VARIANCE_SCALING:
    assert drawn.kind == "variance_scaling" and drawn.scale is None
    assert (drawn.spec.scale, drawn.spec.mode, drawn.spec.distribution) == VARIANCE_SCALING[name]
    assert drawn.spec.variance((64, 32)) == pytest.approx(VARIANCE_SCALING[name][0] / {
        "fan_in": 64, "fan_avg": 48}[VARIANCE_SCALING[name][1]])
  elif name == "orthogonal":
    assert drawn == jaxinit.Description("orthogonal", spec=None, scale=1.5)
  else:
    assert drawn == jaxinit.Description("opaque")


def test_describe_reads_nothing_private():
  def user_init(key, shape, dtype=None, out_sharding=None):
    return jnp.zeros(shape, dtype)

  user_init.spec = jaxinit.describe(jaxinit.he_normal()).spec  # the old private attributes mean nothing
  user_init._haar_scale = 2.0
  assert jaxinit.describe(user_init) == jaxinit.Description("opaque")
  user_init.description = jaxinit.Description("orthogonal", scale=2.0)
  assert jaxinit.describe(user_init).scale == 2.0


def test_a_traced_scale_is_described_as_traced():
  def described(scale):
    spec = jaxinit.describe(jaxinit.variance_scaling(scale, "fan_in", "normal")).spec
    haar = jaxinit.describe(jaxinit.orthogonal(scale)).scale
    assert isinstance(spec.scale, jax.core.Tracer) and isinstance(haar, jax.core.Tracer)
    return spec.scale + haar

  assert float(jax.jit(described)(jnp.float32(2.0))) == 4.0
