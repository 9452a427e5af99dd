"""Test configuration: strict dtype promotion, so an accidental float64 or weak-type upcast fails loudly."""

import jax

jax.config.update("jax_numpy_dtype_promotion", "strict")
