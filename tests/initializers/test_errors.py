"""Bad input fails at the earliest point with a message naming the parameter and the value."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit

KEY = jax.random.key(0)

FACTORY_ERRORS = [
    (lambda: jaxinit.variance_scaling(1.0, "fan_middle", "normal"), ValueError, "mode='fan_middle'"),
    (lambda: jaxinit.variance_scaling(1.0, "fan_in", "cauchy"), ValueError, "distribution='cauchy'"),
    (lambda: jaxinit.variance_scaling(-1.0, "fan_in", "normal"), ValueError, "scale=-1.0"),
    (lambda: jaxinit.variance_scaling(0.0, "fan_in", "normal"), ValueError, "scale=0.0"),
    (lambda: jaxinit.variance_scaling(float("nan"), "fan_in", "normal"), ValueError, "scale=nan"),
    (lambda: jaxinit.variance_scaling(1.0, "fan_in", "normal", in_axis="a"), ValueError, "in_axis='a'"),
    (lambda: jaxinit.he_normal(dtype=jnp.int32), TypeError, "dtype='int32'"),
    (lambda: jaxinit.normal(stddev=-0.1), ValueError, "stddev=-0.1"),
    (lambda: jaxinit.normal(stddev="big"), ValueError, "stddev='big'"),
    (lambda: jaxinit.truncated_normal(0.1, lower=2.0, upper=1.0), ValueError, "lower=2.0"),
    (lambda: jaxinit.uniform(scale=float("inf")), ValueError, "scale=inf"),
    (lambda: jaxinit.constant(float("nan")), ValueError, "value=nan"),
    (lambda: jaxinit.orthogonal(scale=0), ValueError, "scale=0"),
    (lambda: jaxinit.orthogonal(column_axis=(0, 1)), ValueError, "column_axis=(0, 1)"),
    (lambda: jaxinit.identity(gain=-2), ValueError, "gain=-2"),
    (lambda: jaxinit.dirac(groups=0), ValueError, "groups=0"),
    (lambda: jaxinit.sparse(1.0), ValueError, "sparsity=1.0"),
    (lambda: jaxinit.sparse(-0.1), ValueError, "sparsity=-0.1"),
    (lambda: jaxinit.sparse(0.5, stddev=0), ValueError, "stddev=0"),
    (lambda: jaxinit.torch_default_bias(0), ValueError, "fan_in=0"),
    (lambda: jaxinit.torch_default_bias(2.5), ValueError, "fan_in=2.5"),
    # a string scale was accepted here and failed when called; axes naming one axis twice failed only
    # when called
    (lambda: jaxinit.variance_scaling("2", "fan_in", "normal"), ValueError, "scale='2'"),
    (lambda: jaxinit.variance_scaling(True, "fan_in", "normal"), ValueError, "scale=True"),
    (lambda: jaxinit.variance_scaling(jnp.ones(2), "fan_in", "normal"), ValueError, "scale=Array([1., 1.]"),
    (lambda: jaxinit.normal(stddev="0.1"), ValueError, "stddev='0.1'"),
    (lambda: jaxinit.orthogonal(scale="1"), ValueError, "scale='1'"),
    (lambda: jaxinit.he_normal(in_axis=-1, out_axis=-1), ValueError, "he_normal: in_axis=-1 and out_axis=-1"),
    (lambda: jaxinit.glorot_uniform(in_axis=(0, 1), out_axis=1), ValueError, "in_axis=(0, 1) and out_axis=1"),
    (lambda: jaxinit.lecun_normal(batch_axis=-2), ValueError, "in_axis=-2 and batch_axis=-2"),
    (lambda: jaxinit.he_uniform(in_axis=(0, 0), out_axis=2), ValueError, "in_axis=(0, 0) name axis 0 twice"),
    (lambda: jaxinit.torch_default_kernel(out_axis=-2), ValueError,
     "torch_default_kernel: in_axis=-2 and out_axis"),
    (lambda: jaxinit.for_activation("relu", out_axis=-2), ValueError,
     "for_activation: in_axis=-2 and out_axis"),
    (lambda: jaxinit.calculate_gain("swish"), ValueError, "nonlinearity='swish'"),
    (lambda: jaxinit.calculate_gain("leaky_relu", "steep"), ValueError, "param='steep'"),
    (lambda: jaxinit.calculate_gain("leaky_relu", True), ValueError, "param=True"),
    (lambda: jaxinit.gain("swishy"), ValueError, "activation='swishy'"),
    (lambda: jaxinit.gain("relu", 0.2), ValueError, "param=0.2"),
    (lambda: jaxinit.gain(lambda x: 0.0 * x), ValueError, "no gain preserves variance"),
    (lambda: jaxinit.for_activation("tanh", distribution="laplace"), ValueError, "distribution='laplace'"),
    (lambda: jaxinit.for_activation("tanh", mode="fan"), ValueError, "mode='fan'"),
]


@pytest.mark.parametrize("make,exc,message", FACTORY_ERRORS)
def test_factory_time_errors(make, exc, message):
  with pytest.raises(exc, match=re.escape(message)):
    make()


CALL_ERRORS = [
    (jaxinit.he_normal(), (10,), jnp.float32, ValueError, "shape=(10,)"),
    (jaxinit.glorot_uniform(), (), jnp.float32, ValueError, "shape=()"),
    (jaxinit.variance_scaling(1.0, "fan_in", "normal", in_axis=3), (4, 5), jnp.float32,
     ValueError, "in_axis=3"),
    (jaxinit.variance_scaling(1.0, "fan_in", "normal", in_axis=1, out_axis=-1), (4, 5), jnp.float32,
     ValueError, "overlap for shape=(4, 5)"),
    (jaxinit.he_normal(), (4, -5), jnp.float32, ValueError, "shape=(4, -5)"),
    (jaxinit.he_normal(), (4, 5), jnp.int8, TypeError, "dtype='int8'"),
    (jaxinit.he_normal(), (4, 5), jnp.bool_, TypeError, "dtype='bool'"),
    (jaxinit.zeros, (4, 5), jnp.int32, TypeError, "dtype='int32'"),
    (jaxinit.orthogonal(), (16,), jnp.float32, ValueError, "shape=(16,)"),
    (jaxinit.orthogonal(column_axis=2), (4, 4), jnp.float32, ValueError, "column_axis=2"),
    (jaxinit.delta_orthogonal(), (4, 4), jnp.float32, ValueError, "shape=(4, 4)"),
    (jaxinit.delta_orthogonal(), (3, 3, 8, 4), jnp.float32, ValueError, "in=8 > out=4"),
    (jaxinit.delta_orthogonal(), (0, 3, 4, 4), jnp.float32, ValueError, "empty window"),
    (jaxinit.dirac(), (4, 4), jnp.float32, ValueError, "shape=(4, 4)"),
    (jaxinit.dirac(groups=3), (3, 4, 4), jnp.float32, ValueError, "groups=3"),
    (jaxinit.identity(), (3, 3, 3), jnp.float32, ValueError, "shape=(3, 3, 3)"),
    (jaxinit.sparse(0.5), (7,), jnp.float32, ValueError, "shape=(7,)"),
    (jaxinit.sparse(0.5), (7, 3), jnp.complex64, TypeError, "dtype='complex64'"),
    (jaxinit.uniform(), (7, 3), jnp.complex64, TypeError, "dtype='complex64'"),
    (jaxinit.torch_default_kernel(), (7, 3), jnp.uint8, TypeError, "dtype='uint8'"),
]


@pytest.mark.parametrize("init,shape,dtype,exc,message", CALL_ERRORS)
def test_call_time_errors(init, shape, dtype, exc, message):
  with pytest.raises(exc, match=re.escape(message)):
    init(KEY, shape, dtype)


def test_rank_one_works_with_explicit_axes_and_zero_size_is_empty():
  w = jaxinit.variance_scaling(1.0, "fan_in", "normal", in_axis=0, out_axis=())(KEY, (64,))
  assert w.shape == (64,)
  for init in (jaxinit.he_normal(), jaxinit.orthogonal(), jaxinit.glorot_uniform()):
    assert init(KEY, (0, 5)).shape == (0, 5)


RANDOM_INITS = [jaxinit.he_normal(), jaxinit.glorot_uniform(),
                jaxinit.variance_scaling(1.0, "fan_avg", "normal"), jaxinit.normal(),
                jaxinit.truncated_normal(), jaxinit.uniform(), jaxinit.orthogonal(),
                jaxinit.delta_orthogonal(), jaxinit.sparse(0.5), jaxinit.torch_default_kernel(),
                jaxinit.torch_default_bias(4), jaxinit.for_activation("tanh")]


@pytest.mark.parametrize("init", RANDOM_INITS, ids=lambda init: init.__qualname__.split(".")[0])
def test_a_bad_key_is_named(init):
  # key=0 raised AttributeError deep inside jax.random
  shape = (3, 4, 4)
  for key, message in [(0, "key=0 is not a PRNG key"), (jnp.zeros(2), "key=Array([0., 0.]"),
                       (jax.random.split(KEY, 2), "key has shape (2,)")]:
    with pytest.raises(TypeError, match=re.escape(message)):
      init(key, shape)
  init(jax.random.PRNGKey(0), shape)  # legacy raw keys stay accepted


def test_constants_ignore_the_key_as_jax_does():
  cases = [(jaxinit.zeros, (4,)), (jaxinit.ones, (4,)), (jaxinit.constant(2.0), (4,)),
           (jaxinit.identity(), (4, 4)), (jaxinit.dirac(), (3, 4, 4))]
  for init, shape in cases:
    assert init(None, shape).shape == shape


def test_array_scales_work_concrete_and_traced():
  shape = (64, 32)
  ref = jaxinit.variance_scaling(2.0, "fan_in", "normal")(KEY, shape)
  for scale in (np.float32(2.0), jnp.array(2.0)):
    np.testing.assert_array_equal(jaxinit.variance_scaling(scale, "fan_in", "normal")(KEY, shape), ref)
  traced = jax.jit(lambda s: jaxinit.variance_scaling(s, "fan_in", "normal")(KEY, shape))(jnp.float32(2.0))
  np.testing.assert_allclose(traced, ref, rtol=1e-6)
