"""A broken Flax transformer found by jaxinit.diagnose, fixed with einsum_init, 1/sqrt(depth) and calibrate.

The model is a small decoder in flax nnx whose attention makes q, k and v with one ``nnx.Einsum``
``"BTD,SNDH->SBTNH"``, as flax's Gemma example does. Built the obvious way it has two problems:

* flax's default ``lecun_normal()`` reads the last two kernel axes as (in, out) and the others as a
  receptive field, so the qkv kernel ``(3, heads, features, head_dim)`` is drawn with
  ``fan_in = 3 * heads * features``: its std is ``1 / sqrt(3 heads)`` of LeCun's;
* the residual branches are added unscaled, so the stream's variance grows linearly with depth.

The script diagnoses it (the table and the warnings), rebuilds it with
``jaxinit.einsum_init(einsum_str)`` and branches scaled by ``1 / sqrt(2 * blocks)``, calibrates it with
LSUV (``jaxinit.calibrate``) and diagnoses it again: no warnings. It writes
``diagnose_and_calibrate_before.png`` and ``diagnose_and_calibrate_after.png``.

  python examples/diagnose_and_calibrate.py            # width 128, 8 blocks
  python examples/diagnose_and_calibrate.py --quick    # width 32, 3 blocks
"""

import argparse
import math
from pathlib import Path

import jax
import jax.numpy as jnp
from flax import nnx

import jaxinit

QKV, ATTN_OUT = "BTD,SNDH->SBTNH", "BTNH,NHD->BTD"


class Attention(nnx.Module):
  def __init__(self, features: int, heads: int, fixed: bool, rngs: nnx.Rngs):
    head_dim = features // heads
    qkv_init = jaxinit.einsum_init(QKV) if fixed else nnx.initializers.lecun_normal()
    out_init = jaxinit.einsum_init(ATTN_OUT) if fixed else nnx.initializers.lecun_normal()
    self.qkv_einsum = nnx.Einsum(QKV, (3, heads, features, head_dim), kernel_init=qkv_init, rngs=rngs)
    self.attn_vec_einsum = nnx.Einsum(ATTN_OUT, (heads, head_dim, features), kernel_init=out_init, rngs=rngs)

  def __call__(self, x):
    q, k, v = self.qkv_einsum(x)
    logits = jnp.einsum("BTNH,BSNH->BNTS", q, k) / jnp.sqrt(jnp.float32(q.shape[-1])).astype(q.dtype)
    causal = jnp.tril(jnp.ones((x.shape[1], x.shape[1]), bool))
    weights = jax.nn.softmax(jnp.where(causal, logits, jnp.finfo(logits.dtype).min), axis=-1)
    return self.attn_vec_einsum(jnp.einsum("BNTS,BSNH->BTNH", weights, v))


class Block(nnx.Module):
  def __init__(self, features: int, heads: int, branch_scale: float, fixed: bool, rngs: nnx.Rngs):
    self.attn_norm = nnx.RMSNorm(features, rngs=rngs)
    self.attn = Attention(features, heads, fixed, rngs)
    self.mlp_norm = nnx.RMSNorm(features, rngs=rngs)
    self.up = nnx.Linear(features, 4 * features, rngs=rngs)
    self.down = nnx.Linear(4 * features, features, rngs=rngs)
    self.branch_scale = branch_scale

  def __call__(self, x):
    x = x + self.branch_scale * self.attn(self.attn_norm(x))
    return x + self.branch_scale * self.down(nnx.gelu(self.up(self.mlp_norm(x))))


class Decoder(nnx.Module):
  def __init__(self, vocab: int, features: int, heads: int, blocks: int, fixed: bool, rngs: nnx.Rngs):
    self.embed = nnx.Embed(vocab, features, rngs=rngs)
    scale = 1.0 / math.sqrt(2 * blocks) if fixed else 1.0
    self.blocks = nnx.List([Block(features, heads, scale, fixed, rngs) for _ in range(blocks)])
    self.final_norm = nnx.RMSNorm(features, rngs=rngs)
    self.logits = nnx.Linear(features, vocab, rngs=rngs)

  def __call__(self, tokens):
    x = self.embed(tokens)
    for block in self.blocks:
      x = block(x)
    return self.logits(self.final_norm(x))


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="a small model (what CI runs)")
  parser.add_argument("--out", default=".", help="folder for the two figures (default: cwd)")
  args = parser.parse_args(argv)
  vocab, features, heads, blocks, batch, length = (64, 32, 4, 3, 4, 8) if args.quick else (256, 128, 8, 8, 8, 64)
  tokens = jax.random.randint(jax.random.key(0), (batch, length), 0, vocab)
  out = Path(args.out)
  out.mkdir(parents=True, exist_ok=True)

  broken = Decoder(vocab, features, heads, blocks, fixed=False, rngs=nnx.Rngs(0))
  before = jaxinit.diagnose(broken, tokens)
  print("== the model as built with flax's defaults")
  print(before.summary())
  qkv = before.row("blocks/0/attn/qkv_einsum")
  print(f"qkv kernel {qkv.kernel_shape}: std {qkv.weight_std:.4f}, LeCun under the einsum's fans "
        f"(fan_in={qkv.fan_in}) is {1 / math.sqrt(qkv.fan_in):.4f}")
  before.plot(out / "diagnose_and_calibrate_before.png", title="before: flax defaults, unscaled residuals")

  fixed = Decoder(vocab, features, heads, blocks, fixed=True, rngs=nnx.Rngs(0))
  calibrated, log = jaxinit.calibrate(fixed, tokens)
  print(f"== rebuilt with einsum_init and 1/sqrt({2 * blocks}) branches, then calibrated (LSUV)")
  for step in log[:4]:
    print(f"  {step.path:<32} x{step.scale:.3f}  variance {step.variance_before:.3g} -> {step.variance_after:.3g}")
  print(f"  ... {len(log)} layers, all converged: {all(s.converged for s in log)}")
  after = jaxinit.diagnose(calibrated, tokens)
  print(after.summary())
  after.plot(out / "diagnose_and_calibrate_after.png", title="after: einsum_init, scaled residuals, LSUV")
  print(f"warnings before: {len(before.warnings)}, after: {len(after.warnings)}")
  print(f"wrote {out / 'diagnose_and_calibrate_before.png'} and {out / 'diagnose_and_calibrate_after.png'}")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
