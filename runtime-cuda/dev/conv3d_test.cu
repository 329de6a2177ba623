// conv3d_test.cu: the implicit-GEMM conv3d (conv3d_igemm.cuh) against the direct kernel (conv3d.cuh,
// fp32 math on the GPU) and a float64 CPU reference on sampled outputs, for bf16 and fp16 storage:
// odd shapes (M, N, K not multiples of the tiles), causal / zero padding, strides, 1x1x1, small Co,
// batches; then timings of both at HunyuanVideo VAE decoder sizes (median of a few runs, TFLOP/s
// counted as 2 * M * N * K with K = Ci * kt * kh * kw, the repack of the weights included).
// Build and run from the repository root (one H100 / H200, sm_90; sm_80 builds too):
//   nvcc -std=c++17 -O2 -arch=sm_90 --extended-lambda -Iruntime-cuda runtime-cuda/dev/conv3d_test.cu -o /tmp/conv3d_test
//   /tmp/conv3d_test            (add "quick" to skip the large timings)
// Exit code 0 only when every check passes: max |out - ref| / max |ref| < 1e-2 for igemm vs direct
// and for both vs the CPU reference, no NaN (outputs are poisoned with NaN first), and conv3d()'s
// default dispatch gives the igemm result bit for bit.
#include <vector>
#include <algorithm>
#include "conv3d.cuh"
#include "dev/timing.cuh"  // defines: time_ms (median of CUDA-event timings)
using namespace mc;

static int failures = 0;

template <class T> __global__ void fill_kernel(T* p, i64 n, uint64_t seed, float scale) {
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) {
    uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed; z ^= z >> 31; z *= 0xBF58476D1CE4E5B9ull; z ^= z >> 29;
    st(p[i], ((float)(z >> 40) / 16777216.0f - 0.5f) * 3.4f * scale);
  }
}
template <class T> static T* dev_random(i64 n, uint64_t seed, float scale) {
  T* p; MC_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T) + 16));
  fill_kernel<<<4096, 256>>>(p, n, seed, scale); MC_CUDA_CHECK(cudaGetLastError());
  return p;
}
// stats[0] = max |a - b| and stats[1] = max |b| as float bits (non-negative floats order like their
// bits), stats[2] = NaN count in a or b.
template <class T> __global__ void diff_kernel(const T* a, const T* b, i64 n, unsigned* stats) {
  float md = 0.0f, mr = 0.0f; unsigned nans = 0;
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) {
    float x = ld(a[i]), r = ld(b[i]);
    if (x != x || r != r) { nans++; continue; }
    md = fmaxf(md, fabsf(x - r)); mr = fmaxf(mr, fabsf(r));
  }
  atomicMax(&stats[0], __float_as_uint(md)); atomicMax(&stats[1], __float_as_uint(mr));
  if (nans) atomicAdd(&stats[2], nans);
}
struct Diff { double rel; unsigned nans; double maxdiff; };
template <class T> static Diff gpu_diff(const T* a, const T* b, i64 n) {
  unsigned* d; MC_CUDA_CHECK(cudaMalloc(&d, 3 * sizeof(unsigned))); MC_CUDA_CHECK(cudaMemset(d, 0, 3 * sizeof(unsigned)));
  diff_kernel<<<2048, 256>>>(a, b, n, d); MC_CUDA_CHECK(cudaGetLastError());
  unsigned h[3]; MC_CUDA_CHECK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost)); cudaFree(d);
  float md, mr; memcpy(&md, &h[0], 4); memcpy(&mr, &h[1], 4);
  return {mr > 0 ? md / mr : md, h[2], md};
}
template <class T> static std::vector<T> host(const T* p, i64 n) {
  std::vector<T> v(n); MC_CUDA_CHECK(cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost)); return v;
}
static double hval(bf16 v) { return bf16_to_float(v); }
static double hval(fp16 v) { return fp16_to_float(v); }


// pad: zero padding per side when not causal (causal pads (kt-1, kh/2, kw/2) by replication, as mc does).
struct Case { const char* name; i64 B, Ci, Co, T, H, W; i64 k[3], s[3], pad[3]; bool causal, bias, timing; };

template <class T>
static void run_case(const Case& c, const char* tname) {
  ConvArgs a{c.B, c.Ci, c.T, c.H, c.W, c.Co, 0, 0, 0, {c.k[0], c.k[1], c.k[2]}, {c.s[0], c.s[1], c.s[2]}, {0, 0, 0}, c.causal};
  const i64 in[3] = {c.T, c.H, c.W};
  i64 out[3];
  for (int d = 0; d < 3; d++) {
    const i64 front = c.causal ? (d == 0 ? c.k[0] - 1 : c.k[d] / 2) : c.pad[d];
    const i64 total = c.causal ? (d == 0 ? c.k[0] - 1 : 2 * (c.k[d] / 2)) : 2 * c.pad[d];
    a.front[d] = front;
    out[d] = (in[d] + total - c.k[d]) / c.s[d] + 1;
  }
  a.To = out[0]; a.Ho = out[1]; a.Wo = out[2];
  const i64 K = c.Ci * c.k[0] * c.k[1] * c.k[2], M = c.B * a.To * a.Ho * a.Wo;
  const i64 nx = c.B * c.Ci * c.T * c.H * c.W, nw = c.Co * K, ny = M * c.Co;
  T *x = dev_random<T>(nx, 11, 1.0f), *w = dev_random<T>(nw, 12, 1.0f / sqrtf((float)K)), *bias = c.bias ? dev_random<T>(c.Co, 13, 0.5f) : nullptr;
  T *yi, *yd, *yx;
  MC_CUDA_CHECK(cudaMalloc(&yi, ny * sizeof(T))); MC_CUDA_CHECK(cudaMalloc(&yd, ny * sizeof(T))); MC_CUDA_CHECK(cudaMalloc(&yx, ny * sizeof(T)));
  MC_CUDA_CHECK(cudaMemset(yi, 0xff, ny * sizeof(T)));  // NaN in bf16 and fp16
  MC_CUDA_CHECK(cudaMemset(yd, 0xff, ny * sizeof(T)));
  MC_CUDA_CHECK(cudaMemset(yx, 0xff, ny * sizeof(T)));
  printf("%s %-28s B%lld %4lld->%-4lld T%-3lld H%-3lld W%-3lld k%lld%lld%lld s%lld%lld%lld %s  M%-8lld N%-4lld K%-6lld",
         tname, c.name, (long long)c.B, (long long)c.Ci, (long long)c.Co, (long long)c.T, (long long)c.H, (long long)c.W,
         (long long)c.k[0], (long long)c.k[1], (long long)c.k[2], (long long)c.s[0], (long long)c.s[1], (long long)c.s[2],
         c.causal ? "causal" : "zeropad", (long long)M, (long long)c.Co, (long long)K);
  fflush(stdout);
  const bool used = conv3d_igemm((Stream)0, x, w, bias, yi, a);
  MC_CUDA_CHECK(cudaDeviceSynchronize());
  conv3d_direct((Stream)0, x, w, bias, yd, a);
  MC_CUDA_CHECK(cudaDeviceSynchronize());
  conv_mode() = 0;
  conv3d((Stream)0, x, w, bias, yx, a);  // the default dispatch: must be the igemm result
  MC_CUDA_CHECK(cudaDeviceSynchronize());
  bool ok = used;
  if (!used) printf("  igemm NOT APPLICABLE");
  const Diff dv = gpu_diff(yi, yd, ny), dx = gpu_diff(yx, yi, ny);
  ok &= dv.nans == 0 && dv.rel < 1e-2 && dx.nans == 0 && dx.maxdiff == 0.0;
  printf("  igemm/direct %.2e%s", dv.rel, dv.nans ? " NaN" : "");
  if (dx.nans || dx.maxdiff != 0.0) printf("  conv3d() != igemm");
  if (nx < 100000000) {  // float64 reference on up to ~4096 sampled outputs
    std::vector<T> hx = host(x, nx), hw = host(w, nw), hi = host(yi, ny), hd = host(yd, ny), hb;
    if (bias) hb = host(bias, c.Co);
    double mr = 0, mi = 0, md = 0;
    std::vector<i64> idx;  // every step-th output and the last one
    for (i64 i = 0; i < ny; i += std::max<i64>(1, ny / 4096)) idx.push_back(i);
    if (idx.back() != ny - 1) idx.push_back(ny - 1);
    for (const i64 i : idx) {
      const i64 ow = i % a.Wo, oh = (i / a.Wo) % a.Ho, ot = (i / (a.Wo * a.Ho)) % a.To, o = (i / (a.Wo * a.Ho * a.To)) % c.Co, b = i / (a.Wo * a.Ho * a.To * c.Co);
      const i64 opos[3] = {ot, oh, ow};
      double r = bias ? hval(hb[o]) : 0.0;
      for (i64 dt = 0; dt < c.k[0]; dt++) for (i64 dh = 0; dh < c.k[1]; dh++) for (i64 dw = 0; dw < c.k[2]; dw++) {
        const i64 dk[3] = {dt, dh, dw};
        i64 src[3]; bool inside = true;
        for (int d = 0; d < 3; d++) {
          src[d] = opos[d] * c.s[d] + dk[d] - a.front[d];
          if (c.causal) src[d] = std::min(std::max<i64>(src[d], 0), in[d] - 1);
          else inside &= src[d] >= 0 && src[d] < in[d];
        }
        if (!inside) continue;
        for (i64 ci = 0; ci < c.Ci; ci++)
          r += hval(hw[(((o * c.Ci + ci) * c.k[0] + dt) * c.k[1] + dh) * c.k[2] + dw]) *
               hval(hx[(((b * c.Ci + ci) * c.T + src[0]) * c.H + src[1]) * c.W + src[2]]);
      }
      mr = std::max(mr, fabs(r));
      const double vi = hval(hi[i]), vd = hval(hd[i]);
      mi = (vi != vi) ? INFINITY : std::max(mi, fabs(vi - r));
      md = (vd != vd) ? INFINITY : std::max(md, fabs(vd - r));
    }
    const double ei = mr > 0 ? mi / mr : mi, ed = mr > 0 ? md / mr : md;
    ok &= ei < 1e-2 && ed < 1e-2;
    printf("  cpu64: igemm %.2e direct %.2e", ei, ed);
  }
  if (!ok) { failures++; printf("  FAIL"); }
  printf("\n");
  if (c.timing) {
    const double fl = 2.0 * M * c.Co * K;
    const float ti = time_ms([&] { conv3d_igemm((Stream)0, x, w, bias, yi, a); }, 5);
    const float td = time_ms([&] { conv3d_direct((Stream)0, x, w, bias, yd, a); }, 1);
    printf("    time: igemm %.2f ms (%.1f TFLOP/s), direct %.2f ms (%.1f TFLOP/s), speedup %.1fx\n", ti, fl / ti * 1e-9, td, fl / td * 1e-9, td / ti);
  }
  cudaFree(x); cudaFree(w); if (bias) cudaFree(bias); cudaFree(yi); cudaFree(yd); cudaFree(yx);
}

int main(int argc, char** argv) {
  const bool quick = argc > 1 && !strcmp(argv[1], "quick");
  cudaDeviceProp prop; MC_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  printf("device: %s, sm_%d%d, %d SMs\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
  const Case cases[] = {
    //  name                          B   Ci   Co   T   H   W    k          s          pad        causal bias  timing
    {"tiny odd",                      2,   5,   7,  3,  5,  6, {3, 3, 3}, {1, 1, 1}, {0, 0, 0}, true,  true,  false},
    {"tiny odd zero-pad",             1,  19,  37,  4,  7,  9, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, false, true,  false},
    {"odd kernel 2x3x1, no bias",     3,  40,  70,  5,  6, 11, {2, 3, 1}, {1, 1, 1}, {1, 1, 0}, false, false, false},
    {"kernel 1x3x5 causal",           1,  33, 130,  2,  9, 10, {1, 3, 5}, {1, 1, 1}, {0, 0, 0}, true,  true,  false},
    {"causal 128 (T5 33x33)",         1, 128, 128,  5, 33, 33, {3, 3, 3}, {1, 1, 1}, {0, 0, 0}, true,  true,  false},
    {"1x1x1 256->128",                1, 256, 128,  5, 33, 33, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, true,  true,  false},
    {"1x1x1 100->72 (repacked)",      2, 100,  72,  3, 17, 19, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, false, true,  false},
    {"stride 2 zero-pad",             1,  64,  96,  4, 34, 34, {3, 3, 3}, {1, 2, 2}, {1, 1, 1}, false, true,  false},
    {"stride 2x2x2 zero-pad",         2,  48,  64,  9, 21, 20, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, false, true,  false},
    {"Co 3 (RGB out)",                1, 128,   3,  5, 40, 40, {3, 3, 3}, {1, 1, 1}, {0, 0, 0}, true,  true,  false},
    {"Co 48 (BN 64)",                 1,  64,  48,  3, 20, 30, {3, 3, 3}, {1, 1, 1}, {0, 0, 0}, true,  true,  false},
    {"Ci 16 -> 512 (conv_in)",        1,  16, 512,  5, 32, 32, {3, 3, 3}, {1, 1, 1}, {0, 0, 0}, true,  true,  false},
  };
  for (const Case& c : cases) run_case<bf16>(c, "bf16");
  for (const Case& c : cases) run_case<fp16>(c, "fp16");
  if (!quick) {
    const Case big[] = {
      {"VAE 512 (T17 64x64)",         1, 512, 512, 17, 64, 64, {3, 3, 3}, {1, 1, 1}, {0, 0, 0}, true,  true,  true},
      {"VAE 256 (T65 128x128)",       1, 256, 256, 65, 128, 128, {3, 3, 3}, {1, 1, 1}, {0, 0, 0}, true, true, true},
    };
    run_case<bf16>(big[0], "bf16");
    run_case<fp16>(big[0], "fp16");
    run_case<bf16>(big[1], "bf16");
  }
  printf("%s: %d failing checks\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
