#!/usr/bin/env bash
# The GPU check for `mc compile` (issue 5). Runs ON the device machine (H100/H200 image: CUDA driver,
# nvcc, PyTorch; no Node, no network), from the repository root, after `bash scripts/device-prepare.sh`
# built everything here into devrun/ (carried). Prints everything to stdout:
#   0. the kernel harness (runtime-cuda/dev/attention_test.cu): new kernels vs references, speed
#   0b. the conv3d harness (runtime-cuda/dev/conv3d_test.cu): implicit-GEMM conv vs direct, speed
#   1. tiny DiT / VAE / GPT: the CUDA executable vs the CPU executable's output (same weights, inputs)
#   2. the pipeline at 544x960x129 (bench.sh): 2 DiT steps with weights resident, 3 VAE tile decodes
#   3. the full 13B DiT forward at 720x1280x129, random weights drawn on the GPU: per-layer and
#      total time, TFLOP/s, arena bytes vs cudaMemGetInfo (the executable prints them)
#   3b. the DiT at 544x960x129 with weights streamed (--offload-weights): time vs resident (section 2)
#   3c. the Llama-3 text encoder at full size (to layer 30, 351 tokens): one forward (CLIP-L: tiny, in 1)
#   4. with MC_TORCH=1: PyTorch (bf16, SDPA) on one double and one single block at the same sizes
# Each step has its own timeout; a failed or timed-out step is reported and the script goes on.
set -uo pipefail
cd "$(dirname "$0")/.."
W=$(mktemp -d /tmp/mc-device-XXXXXX)
section() { printf '\n==== %s ====\n' "$*"; }
step() { local t=$1; shift; local rc=0; timeout "$t" "$@" || rc=$?; if [ $rc -eq 124 ]; then echo "!! TIMED OUT after ${t}s: $*"; elif [ $rc -ne 0 ]; then echo "!! FAILED (exit $rc): $*"; fi; return 0; }
[ -d devrun ] || { echo "devrun/ is missing: run scripts/device-prepare.sh first and carry devrun"; exit 1; }

section "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv || true
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' || true

cat > "$W/cmp.py" <<'PY'
import sys
from safetensors.torch import load_file
a, b, tol = load_file(sys.argv[1]), load_file(sys.argv[2]), float(sys.argv[3])
ok = True
for k, t in b.items():
    x, y = a[k].double(), t.double()
    err = ((x - y).norm() / y.norm().clamp_min(1e-30)).item()
    ok &= err <= tol
    print(f"  {k} {t.dtype} {list(t.shape)} rel err {err:.3e} (tol {tol}) {'OK' if err <= tol else 'MISMATCH'}")
sys.exit(0 if ok else 1)
PY

section "0. kernel harness: attention and GEMM kernels vs references, and their speed"
step 75 devrun/attention_test

section "0b. conv3d harness: implicit-GEMM (tensor-core) conv vs the direct kernel, and their speed"
step 90 devrun/conv3d_test

section "1. tiny models: CUDA vs CPU output (same weights and inputs; tolerance 2e-2, bf16/fp16 storage)"
for m in dit vae gpt clip; do
  d=devrun/tiny-$m
  echo "-- tiny $m"
  step 60 $d/model --weights $d.w.safetensors --inputs $d.i.safetensors --out "$W/$m.cuda.safetensors"
  [ -f "$W/$m.cuda.safetensors" ] && step 60 python3 "$W/cmp.py" "$W/$m.cuda.safetensors" $d.cpu.safetensors 2e-2
done

section "2. the pipeline at 544x960x129: 2 DiT steps in loop mode (weights resident), 3 VAE tile decodes"
step 150 bash devrun/hv544/bench.sh 2 3 1

section "3. full DiT forward at 720x1280x129 with random weights (bf16)"
d=devrun/dit-720
step 110 $d/model --random-weights 1 --inputs $d.i.safetensors --profile > "$W/dit-720.log" 2>&1
grep -v '^layer' "$W/dit-720.log" || true
grep -E '^layer (img_in|txt_in|double_blocks\.0|single_blocks\.0|final_layer):' "$W/dit-720.log" || true
echo "  layers timed: $(grep -c '^layer' "$W/dit-720.log")"

section "3b. DiT forward at 544x960x129 with weights streamed from pinned host memory (--offload-weights)"
d=devrun/dit-544s
step 100 $d/model --random-weights 1 --inputs devrun/hv544/dit-inputs.safetensors --iters 2
echo "  (compare: the resident 544x960x129 forward in section 2)"

section "3c. the Llama-3 text encoder at full size, random weights (to layer 30, 351 tokens)"
step 90 devrun/llm/model --random-weights 1 --inputs devrun/llm.i.safetensors --iters 2

section "4. PyTorch: one double and one single block (bf16, SDPA), same token counts (MC_TORCH=1)"
[ "${MC_TORCH:-0}" = 1 ] || { echo "skipped (set MC_TORCH=1)"; section done; exit 0; }
cat > "$W/blocks.py" <<'PY'
import sys, torch, torch.nn.functional as F
torch.manual_seed(0)
dev, dt = "cuda", torch.bfloat16
H, NH, D, MLP, TXT = 3072, 24, 128, 12288, 256
def lin(i, o): return (torch.randn(o, i, device=dev, dtype=dt) / i ** 0.5, torch.zeros(o, device=dev, dtype=dt))
def ln(x): return F.layer_norm(x, (H,), eps=1e-6)
def rms(x, w): return (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-6)).to(dt) * w
def attn(q, k, v):  # [B, L, NH, D] -> [B, L, H]
    o = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return o.transpose(1, 2).reshape(q.shape[0], q.shape[1], H)
def rope(x, cos, sin):
    x2 = torch.stack((-x[..., 1::2], x[..., ::2]), -1).flatten(-2)
    return (x.float() * cos + x2.float() * sin).to(dt)
def timeit(f, n=3):
    f(); torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(n): f()
    e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / n
for hh, ww in [(544, 960), (720, 1280)]:
    Li = 33 * (hh // 16) * (ww // 16); L = Li + TXT
    img = torch.randn(1, Li, H, device=dev, dtype=dt); txt = torch.randn(1, TXT, H, device=dev, dtype=dt)
    vec = torch.randn(1, H, device=dev, dtype=dt)
    cos = torch.randn(Li, 1, D, device=dev); sin = torch.randn(Li, 1, D, device=dev)
    W = {k: lin(*s) for k, s in dict(imod=(H, 6 * H), tmod=(H, 6 * H), iqkv=(H, 3 * H), tqkv=(H, 3 * H), iproj=(H, H), tproj=(H, H),
         ifc1=(H, MLP), ifc2=(MLP, H), tfc1=(H, MLP), tfc2=(MLP, H), smod=(H, 3 * H), l1=(H, 3 * H + MLP), l2=(H + MLP, H)).items()}
    nw = torch.ones(D, device=dev, dtype=dt)
    def L_(x, k): return F.linear(x, *W[k])
    def double():
        im = L_(F.silu(vec), "imod").chunk(6, -1); tm = L_(F.silu(vec), "tmod").chunk(6, -1)
        a = ln(img) * (1 + im[1][:, None]) + im[0][:, None]; b = ln(txt) * (1 + tm[1][:, None]) + tm[0][:, None]
        iq, ik, iv = L_(a, "iqkv").view(1, Li, 3, NH, D).unbind(2); tq, tk, tv = L_(b, "tqkv").view(1, TXT, 3, NH, D).unbind(2)
        iq, ik = rope(rms(iq, nw), cos, sin), rope(rms(ik, nw), cos, sin); tq, tk = rms(tq, nw), rms(tk, nw)
        o = attn(torch.cat([iq, tq], 1), torch.cat([ik, tk], 1), torch.cat([iv, tv], 1)); oi, ot = o[:, :Li], o[:, Li:]
        x = img + im[2][:, None] * L_(oi, "iproj"); x = x + im[5][:, None] * L_(F.gelu(L_(ln(x) * (1 + im[4][:, None]) + im[3][:, None], "ifc1"), approximate="tanh"), "ifc2")
        y = txt + tm[2][:, None] * L_(ot, "tproj"); y = y + tm[5][:, None] * L_(F.gelu(L_(ln(y) * (1 + tm[4][:, None]) + tm[3][:, None], "tfc1"), approximate="tanh"), "tfc2")
        return x, y
    xs = torch.cat([img, txt], 1)
    def single():
        sh, sc, g = L_(F.silu(vec), "smod").chunk(3, -1)
        qkv, h = L_(ln(xs) * (1 + sc[:, None]) + sh[:, None], "l1").split([3 * H, MLP], -1)
        q, k, v = qkv.view(1, L, 3, NH, D).unbind(2); q, k = rms(q, nw), rms(k, nw)
        q = torch.cat([rope(q[:, :Li], cos, sin), q[:, Li:]], 1); k = torch.cat([rope(k[:, :Li], cos, sin), k[:, Li:]], 1)
        return xs + g[:, None] * L_(torch.cat([attn(q, k, v), F.gelu(h, approximate="tanh")], -1), "l2")
    with torch.no_grad():
        fd = 2 * Li * H * (3 * H + H + 2 * MLP) + 2 * TXT * H * (3 * H + H + 2 * MLP) + 4 * L * L * D * NH
        fs = 2 * L * H * (3 * H + MLP) + 2 * L * (H + MLP) * H + 4 * L * L * D * NH
        td, ts = timeit(double), timeit(single)
    print(f"torch {hh}x{ww}x129 (L={L}): double block {td:.1f} ms ({fd / td / 1e9:.0f} TFLOP/s), single block {ts:.1f} ms ({fs / ts / 1e9:.0f} TFLOP/s)")
    del W, img, txt, xs; torch.cuda.empty_cache()
PY
step 150 python3 "$W/blocks.py"

section "done"
