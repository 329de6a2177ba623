#!/usr/bin/env bash
# Prepares the GPU device check on this (GPU-less) machine, because the device image has nvcc, the
# CUDA driver and PyTorch but no Node: builds with mc here, carries the results there.
#   devrun/tiny-{dit,vae,gpt}/   CUDA executables of the tiny models, their weights and inputs, and
#                                the CPU executable's output as the reference (run here)
#   devrun/dit-{544,720}/        the full 13B DiT CUDA executable at 544x960x129 and 720x1280x129
#                                and its inputs (weights are drawn on the GPU: --random-weights)
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

for res in "544 960" "720 1280"; do
  set -- $res
  d=devrun/dit-$1
  mc compile examples/hunyuan-video/dit.mc --set height=$1 --set width=$2 --backend cuda --arch "$ARCH" -o $d
  mc inputs examples/hunyuan-video/dit.mc --set height=$1 --set width=$2 --random 2 -o $d.i.safetensors
done
# Only the executables and data travel; the generated sources stay here.
find devrun -mindepth 2 ! -name model -type f -delete
du -sh devrun
