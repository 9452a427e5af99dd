"""Run with 4 forced host devices: jaxinit initializers under Flax partitioning and out_sharding."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import linen as nn  # noqa: E402
from flax import nnx  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import jaxinit  # noqa: E402

assert jax.device_count() == 4, jax.devices()
mesh = jax.make_mesh((2, 2), ("data", "model"))
key = jax.random.key(0)
checked = 0

# 1. out_sharding directly, including the schemes jax cannot shard (orthogonal, delta_orthogonal)
with jax.set_mesh(mesh):
  for init, shape in [(jaxinit.orthogonal(), (8, 8)), (jaxinit.delta_orthogonal(), (3, 8, 8)),
                      (jaxinit.he_normal(), (8, 8)), (jaxinit.identity(), (8, 8)),
                      (jaxinit.sparse(0.5), (8, 8)), (jaxinit.glorot_uniform(dtype=jnp.bfloat16), (8, 8))]:
    spec = P(*([None] * (len(shape) - 2)), "data", "model")
    w = init(key, shape, out_sharding=spec)
    assert w.sharding.is_equivalent_to(NamedSharding(mesh, spec), len(shape)), (init, w.sharding)
    ref = init(key, shape)
    assert jnp.array_equal(jax.device_get(w), jax.device_get(ref)), "sharding changed the values"
    jitted = jax.jit(lambda k, init=init, shape=shape, spec=spec: init(k, shape, out_sharding=spec))(key)
    assert jitted.sharding.is_equivalent_to(NamedSharding(mesh, spec), len(shape))
    checked += 1


# 2. linen: nn.with_partitioning around a jaxinit kernel_init
class LinenMLP(nn.Module):
  @nn.compact
  def __call__(self, x):
    x = nn.Dense(16, kernel_init=nn.with_partitioning(jaxinit.orthogonal(), ("data", "model")))(x)
    return nn.Dense(8, kernel_init=nn.with_partitioning(jaxinit.he_normal(), ("model", None)))(jax.nn.relu(x))


model = LinenMLP()
x = jnp.ones((4, 8))
abstract = jax.eval_shape(model.init, key, x)
specs = nn.get_partition_spec(abstract)
shardings = jax.tree.map(lambda s: NamedSharding(mesh, s), specs)
params = jax.jit(model.init, out_shardings=shardings)(key, x)
k0 = params["params"]["Dense_0"]["kernel"].value
assert k0.sharding.is_equivalent_to(NamedSharding(mesh, P("data", "model")), 2), k0.sharding
k0 = jax.device_get(k0)
assert jnp.allclose(k0 @ k0.T, jnp.eye(8), atol=1e-5)  # (8, 16): orthonormal rows
checked += 1


# 3. nnx: nnx.with_partitioning, sharded at construction under the mesh
class NnxMLP(nnx.Module):
  def __init__(self, rngs):
    self.l1 = nnx.Linear(8, 16, kernel_init=nnx.with_partitioning(jaxinit.orthogonal(), ("data", "model")),
                         rngs=rngs)
    self.l2 = nnx.Linear(16, 8, kernel_init=nnx.with_partitioning(jaxinit.he_normal(), ("model", None)),
                         rngs=rngs)


with jax.set_mesh(mesh):
  m = nnx.jit(lambda: NnxMLP(nnx.Rngs(0)))()
  kern = m.l1.kernel[...]
  assert kern.sharding.is_equivalent_to(NamedSharding(mesh, P("data", "model")), 2), kern.sharding
  kern = jax.device_get(kern)
  assert jnp.allclose(kern @ kern.T, jnp.eye(8), atol=1e-5)
  checked += 1

print(f"sharded checks passed: {checked}")
