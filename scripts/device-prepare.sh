#!/usr/bin/env bash
# Prepares the GPU device check on this (GPU-less) machine, because the device image has nvcc, the
# CUDA driver and PyTorch but no Node: builds with mc here, carries the results there.
#   devrun/tiny-{dit,vae,gpt,clip}/  CUDA executables of the tiny models (clip: the CLIP-L text spec
#                                with small dims), their weights and inputs, and the CPU
#                                executable's output as the reference (run here)
#   devrun/dit-720/              the full 13B DiT CUDA executable at 720x1280x129 and its inputs
#   devrun/dit-544s/             the DiT at 544x960x129 with --offload-weights (weights streamed)
#   devrun/llm/                  the Llama-3 text encoder at full size (to layer 30, 351 tokens); CLIP-L
#                                is only checked tiny (its 0.1 TFLOP forward is not worth the carry)
#                                (weights are drawn on the GPU: --random-weights)
#   devrun/hv544/                the pipeline at 544x960x129 (mc compile --pipeline) and bench.sh
#   devrun/attention_test        runtime-cuda/dev/attention_test.cu (kernels vs references, timings)
#   devrun/conv3d_test           runtime-cuda/dev/conv3d_test.cu (implicit-GEMM conv vs direct, timings)
# Then, on the device: bash scripts/device-check.sh (carry devrun).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${MC_ARCH:-sm_90}
rm -rf devrun && mkdir -p devrun
grep -qx '/devrun/' .git/info/exclude 2>/dev/null || echo '/devrun/' >> .git/info/exclude
mc() { node dist/cli.js "$@"; }

# name, spec, --set flags (the tiny CLIP checks gelu approx="quick" on the GPU).
TINY_CLIP="--set seq=16 --set width=16 --set heads=2 --set layers=2 --set mlp=32 --set vocab=512"
for t in "dit examples/tiny/dit.mc" "vae examples/tiny/vae.mc" "gpt examples/tiny/gpt.mc" "clip examples/hunyuan-video/clip-text.mc $TINY_CLIP"; do
  set -- $t; m=$1; spec=$2; shift 2
  d=devrun/tiny-$m
  mc weights $spec "$@" --random 1 -o $d.w.safetensors
  mc inputs $spec "$@" --random 2 -o $d.i.safetensors
  mc compile $spec "$@" --backend cpu -o /tmp/mc-cpu-$m > /dev/null
  /tmp/mc-cpu-$m/model --weights $d.w.safetensors --inputs $d.i.safetensors --out $d.cpu.safetensors
  mc compile $spec "$@" --backend cuda --arch "$ARCH" -o $d
done

# The Llama-3 text encoder at full size, alone (one forward, random weights drawn on the GPU).
mc compile examples/hunyuan-video/text-encoder.mc --model text_encoder --backend cuda --arch "$ARCH" -o devrun/llm
mc inputs examples/hunyuan-video/text-encoder.mc --model text_encoder --random 2 -o devrun/llm.i.safetensors

# The full DiT at 720x1280x129, alone (one forward, per-layer times).
d=devrun/dit-720
mc compile examples/hunyuan-video/dit.mc --set height=720 --set width=1280 --backend cuda --arch "$ARCH" -o $d
mc inputs examples/hunyuan-video/dit.mc --set height=720 --set width=1280 --random 2 -o $d.i.safetensors

# The DiT at 544x960x129 with its weights streamed from pinned host memory (--offload-weights).
d=devrun/dit-544s
mc compile examples/hunyuan-video/dit.mc --set height=544 --set width=960 --offload-weights --backend cuda --arch "$ARCH" -o $d

# The text-to-video pipeline at 544x960x129: DiT in loop mode + the VAE decoder for its largest tile
# (timed by the generated bench.sh, since the device has no Node for the launcher). Only those two
# of its programs are built (the other 7 decoder tile shapes would only add build time and carry size).
p=devrun/hv544
mc compile examples/hunyuan-video/dit.mc --set height=544 --set width=960 --pipeline hunyuan-video \
  --vae examples/hunyuan-video/vae.mc --backend cuda --arch "$ARCH" --no-build -o $p
for prog in dit vae-17x32x32; do
  nvcc -std=c++17 -O2 -arch="$ARCH" --extended-lambda -diag-suppress 177,550 -I$p/$prog/runtime $p/$prog/model.cu -o $p/$prog/model
done
find $p -mindepth 1 -maxdepth 1 -type d -name 'vae-*' ! -name vae-17x32x32 -exec rm -rf {} +
mc inputs examples/hunyuan-video/dit.mc --set height=544 --set width=960 --random 2 -o $p/dit-inputs.safetensors
mc inputs examples/hunyuan-video/vae.mc --model decoder --set frames=65 --set height=256 --set width=256 --random 2 -o $p/vae-inputs.safetensors
# The kernel harness: new attention / GEMM kernels vs the old ones and a CPU reference, with timings.
nvcc -std=c++17 -O2 -arch="$ARCH" --extended-lambda -Iruntime-cuda runtime-cuda/dev/attention_test.cu -o devrun/attention_test
nvcc -std=c++17 -O2 -arch="$ARCH" --extended-lambda -Iruntime-cuda runtime-cuda/dev/conv3d_test.cu -o devrun/conv3d_test

# Only the executables and data travel; the generated sources stay here. The carry limit is 64 MiB.
find devrun -mindepth 2 -type f ! -name model ! -name bench.sh ! -name '*.safetensors' -delete
find devrun -mindepth 2 -type d -empty -delete
# Symbol tables are not needed there (the GPU code is in .nv_fatbin, which strip keeps): ~0.3 MB each.
find devrun -type f \( -name model -o -name '*_test' \) -exec strip {} +
# The limit covers what travels: the tracked (and untracked, not ignored) files plus devrun.
run_bytes=$(find devrun -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s}')
echo "devrun: $run_bytes bytes; with the working tree: $((run_bytes + tree_bytes)) of 67108864"
[ $((run_bytes + tree_bytes)) -le 67108864 ] || { echo "devrun and the working tree are over the device's 64 MiB limit" >&2; exit 1; }
