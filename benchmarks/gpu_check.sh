#!/usr/bin/env bash
# On a machine with a GPU: the roofline benchmark at a GPU-sized grid and the default `jaxinit sweep`, timed.
# Prints configurations per second of the sweep and its ratio to the GPU's own RNG + matmul floor.
#   bash benchmarks/gpu_check.sh            # writes the sweep's report to ${OUT:-/tmp}/gpu-report
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
out="${OUT:-/tmp}"
python3 -c "import jax, jaxlib; print('jax', jax.__version__, 'devices', jax.devices())"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
echo "== roofline: dense engine against its RNG + matmul floor (width 2048, depth 64, batch 256, 8 seeds)"
python3 benchmarks/roofline.py --width 2048 --depth 64 --batch 256 --seeds 8
echo "== roofline: the CPU grid (width 512, depth 64, batch 128, 4 seeds)"
python3 benchmarks/roofline.py
echo "== what the default jaxinit sweep will cost, before it compiles"
python3 -m jaxinit sweep --dry-run --no-cache
echo "== the default jaxinit sweep, a fresh process, no compilation cache (compiling overlaps running on a GPU)"
start=$(date +%s.%N)
python3 -m jaxinit sweep --no-cache --out "$out/gpu-report" --format json > "$out/gpu-sweep.json"
end=$(date +%s.%N)
python3 - "$out/gpu-sweep.json" "$start" "$end" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
p = doc["parameters"]
configs = len(p["schemes"]) * len(p["activations"]) * len(p["widths"]) * len(p["depths"])
print(f"default sweep: {configs} configurations x {p['seeds']} seeds; wall {wall:.1f} s (process), "
      f"in the sweep {doc['elapsed_s']:.1f} s -> {configs / doc['elapsed_s']:.0f} configurations/s")
print("phases (s):", ", ".join(f"{k} {v:.2f}" for k, v in doc["timings_s"].items()))
PY
