#!/usr/bin/env bash
# Prepares the GPU device check on this (GPU-less) machine, because the device image has nvcc, the
# CUDA driver and PyTorch but no Node: builds with mc here, carries the results there.
#   devrun/tiny-{dit,vae,gpt}/   CUDA executables of the tiny models, their weights and inputs, and
#                                the CPU executable's output as the reference (run here)
#   devrun/dit-720/              the full 13B DiT CUDA executable at 720x1280x129 and its inputs
#   devrun/dit-544s/             the DiT at 544x960x129 with --offload-weights (weights streamed)
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

for m in dit vae gpt; do
  d=devrun/tiny-$m
  mc weights examples/tiny/$m.mc --random 1 -o $d.w.safetensors
  mc inputs examples/tiny/$m.mc --random 2 -o $d.i.safetensors
  mc compile examples/tiny/$m.mc --backend cpu -o /tmp/mc-cpu-$m > /dev/null
  /tmp/mc-cpu-$m/model --weights $d.w.safetensors --inputs $d.i.safetensors --out $d.cpu.safetensors
  mc compile examples/tiny/$m.mc --backend cuda --arch "$ARCH" -o $d
done

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

# Only the executables and data travel; the generated sources stay here.
find devrun -mindepth 2 -type f ! -name model ! -name bench.sh ! -name '*.safetensors' -delete
du -sh devrun
