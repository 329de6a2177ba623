// attention_test.cu: the mma.sync attention and GEMM kernels against the WMMA kernels, the GPU
// reference and a float64 CPU reference on small / odd shapes, then timings at HunyuanVideo sizes.
// Build and run from the repository root (one H200 / H100, sm_90):
//   nvcc -std=c++17 -O2 -arch=sm_90 --extended-lambda -Iruntime-cuda runtime-cuda/dev/attention_test.cu -o /tmp/attention_test
//   /tmp/attention_test            (add "quick" to skip the large timings)
// Exit code 0 only when every check passes (rel err = ||out - ref|| / ||ref|| < 2e-2, no NaN).
#include <vector>
#include <algorithm>
#include <random>
#include "attention.cuh"
#include "gemm.cuh"
#include "dev/timing.cuh"  // defines: time_ms (median of CUDA-event timings)
using namespace mc;

static std::mt19937_64 rng(1234);
static bf16 rbf(float scale) { std::normal_distribution<float> n(0.0f, 1.0f); return float_to_bf16(n(rng) * scale); }
template <class T> static T* dev(const std::vector<T>& h) {
  T* p; MC_CUDA_CHECK(cudaMalloc(&p, h.size() * sizeof(T) + 16));
  MC_CUDA_CHECK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}
static double relerr(const std::vector<bf16>& out, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < out.size(); i++) {
    double x = bf16_to_float(out[i]);
    if (x != x) return INFINITY;  // NaN (also the poison) never passes
    num += (x - ref[i]) * (x - ref[i]); den += ref[i] * ref[i];
  }
  return den > 0 ? sqrt(num / den) : sqrt(num);
}
static int failures = 0;

struct Case { const char* name; i64 B, Lq, Lk, Hq, Hkv, D; bool causal; i64 frame; bool mask; bool segs; };

static void attn_case(const Case& c) {
  const i64 nq = c.B * c.Lq * c.Hq * c.D, nk = c.B * c.Lk * c.Hkv * c.D;
  std::vector<bf16> q(nq), k(nk), v(nk);
  for (auto& x : q) x = rbf(1.5f);
  for (auto& x : k) x = rbf(1.5f);
  for (auto& x : v) x = rbf(1.0f);
  std::vector<uint8_t> mask(c.B * c.Lk, 1);
  if (c.mask) for (i64 b = 0; b < c.B; b++) for (i64 j = 0; j < c.Lk; j++) mask[b * c.Lk + j] = (j * 7 + b) % 5 != 0 && j < c.Lk - b * 3;
  std::vector<int32_t> segs;  // varlen over the packed batch (Lq == Lk): uneven pieces, a gap at the end
  if (c.segs) { int32_t g = 0, T = (int32_t)(c.B * c.Lq); segs.push_back(0); while (g < T - 3) { g = std::min<int32_t>(T - 3, g + 1 + (int32_t)(rng() % (c.Lq + 1))); segs.push_back(g); } }
  AttnArgs a{c.B, c.Lq, c.Lk, c.Hq, c.Hkv, c.D, c.causal, c.frame, nullptr, nullptr, (i64)segs.size()};
  // float64 CPU reference (same visibility rule as the runtime)
  AttnArgs ah = a; ah.mask = c.mask ? mask.data() : nullptr; ah.segs = c.segs ? segs.data() : nullptr;
  std::vector<double> ref(nq, 0.0);
  for (i64 b = 0; b < c.B; b++) for (i64 i = 0; i < c.Lq; i++) for (i64 h = 0; h < c.Hq; h++) {
    i64 hk = h / (c.Hq / c.Hkv), qseg = c.segs ? segment_of(ah.segs, ah.nsegs1, b * c.Lq + i) : 0;
    const bf16* qr = &q[((b * c.Lq + i) * c.Hq + h) * c.D];
    std::vector<double> s(c.Lk, -INFINITY); double m = -INFINITY;
    for (i64 j = 0; j < c.Lk; j++) {
      if (!attn_visible(ah, b, i, j, qseg)) continue;
      const bf16* kr = &k[((b * c.Lk + j) * c.Hkv + hk) * c.D];
      double d = 0; for (i64 e = 0; e < c.D; e++) d += (double)bf16_to_float(qr[e]) * bf16_to_float(kr[e]);
      s[j] = d / sqrt((double)c.D); m = std::max(m, s[j]);
    }
    double l = 0; std::vector<double> acc(c.D, 0.0);
    for (i64 j = 0; j < c.Lk; j++) if (s[j] != -INFINITY) {
      double p = exp(s[j] - m); l += p;
      const bf16* vr = &v[((b * c.Lk + j) * c.Hkv + hk) * c.D];
      for (i64 e = 0; e < c.D; e++) acc[e] += p * bf16_to_float(vr[e]);
    }
    for (i64 e = 0; e < c.D; e++) ref[((b * c.Lq + i) * c.Hq + h) * c.D + e] = l > 0 ? acc[e] / l : 0.0;
  }
  bf16 *dq = dev(q), *dk = dev(k), *dv = dev(v), *dout;
  MC_CUDA_CHECK(cudaMalloc(&dout, nq * 2));
  if (c.mask) a.mask = dev(mask);
  if (c.segs) a.segs = dev(segs);
  const char* names[3] = {"mma", "naive", "ref"};
  printf("attn %-26s B%lld Lq%-5lld Lk%-5lld H%lld/%lld D%-3lld", c.name, (long long)c.B, (long long)c.Lq, (long long)c.Lk, (long long)c.Hq, (long long)c.Hkv, (long long)c.D);
  for (int mode = 0; mode < 3; mode++) {
    attn_mode() = mode;
    MC_CUDA_CHECK(cudaMemset(dout, 0xff, nq * 2));  // poison: NaN bf16
    attention((Stream)0, dq, dk, dv, dout, a);
    MC_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<bf16> out(nq);
    MC_CUDA_CHECK(cudaMemcpy(out.data(), dout, nq * 2, cudaMemcpyDeviceToHost));
    double e = relerr(out, ref);
    bool ok = e < 2e-2;
    if (!ok) failures++;
    printf("  %s %.2e%s", names[mode], e, ok ? "" : " FAIL");
  }
  printf("\n");
  attn_mode() = 0;
  cudaFree(dq); cudaFree(dk); cudaFree(dv); cudaFree(dout);
  if (a.mask) cudaFree((void*)a.mask);
  if (a.segs) cudaFree((void*)a.segs);
}

static void gemm_case(i64 M, i64 N, i64 K, bool bias) {
  std::vector<bf16> x(M * K), w(N * K), bv(N);
  for (auto& e : x) e = rbf(1.0f);
  for (auto& e : w) e = rbf(0.1f);
  for (auto& e : bv) e = rbf(1.0f);
  std::vector<double> ref(M * N);
  for (i64 m = 0; m < M; m++) for (i64 n = 0; n < N; n++) {
    double s = bias ? bf16_to_float(bv[n]) : 0.0;
    for (i64 kk = 0; kk < K; kk++) s += (double)bf16_to_float(x[m * K + kk]) * bf16_to_float(w[n * K + kk]);
    ref[m * N + n] = s;
  }
  bf16 *dx = dev(x), *dw = dev(w), *db = bias ? dev(bv) : nullptr, *dy;
  MC_CUDA_CHECK(cudaMalloc(&dy, M * N * 2));
  printf("gemm M%-5lld N%-5lld K%-5lld bias%d", (long long)M, (long long)N, (long long)K, (int)bias);
  const char* names[3] = {"auto(lt?)", "mma", "wmma"};
  for (int mode = 0; mode < 3; mode++) {
    gemm_mode() = mode;
    MC_CUDA_CHECK(cudaMemset(dy, 0xff, M * N * 2));
    linear((Stream)0, dx, dw, db, dy, M, N, K);
    MC_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<bf16> y(M * N);
    MC_CUDA_CHECK(cudaMemcpy(y.data(), dy, M * N * 2, cudaMemcpyDeviceToHost));
    double e = relerr(y, ref);
    bool ok = e < 2e-2;
    if (!ok) failures++;
    printf("  %s %.2e%s", names[mode], e, ok ? "" : " FAIL");
  }
  printf("\n");
  gemm_mode() = 0;
  cudaFree(dx); cudaFree(dw); if (db) cudaFree(db); cudaFree(dy);
}

__global__ void fill_random(bf16* p, i64 n, uint64_t seed, float scale) {
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) {
    uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed; z ^= z >> 31; z *= 0xBF58476D1CE4E5B9ull; z ^= z >> 29;
    p[i] = float_to_bf16(((float)(z >> 40) / 16777216.0f - 0.5f) * 3.4f * scale);
  }
}
static bf16* dev_random(i64 n, uint64_t seed, float scale) {
  bf16* p; MC_CUDA_CHECK(cudaMalloc(&p, n * 2));
  fill_random<<<4096, 256>>>(p, n, seed, scale); MC_CUDA_CHECK(cudaGetLastError());
  return p;
}

int main(int argc, char** argv) {
  bool quick = argc > 1 && !strcmp(argv[1], "quick");
  cudaDeviceProp prop; MC_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  printf("device: %s, sm_%d%d, %d SMs; cuBLASLt %s\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount, lt::api() ? "loaded" : "absent");
  const Case cases[] = {
    {"L8 D64", 1, 8, 8, 2, 2, 64, false, 0, false, false},
    {"L8 D16 masked (tiny DiT)", 1, 8, 8, 4, 4, 16, false, 0, true, false},
    {"L40 D16 varlen (tiny DiT)", 1, 40, 40, 4, 4, 16, false, 0, false, true},
    {"L64 D32 causal", 2, 64, 64, 4, 2, 32, true, 0, false, false},
    {"L40 D128", 2, 40, 40, 3, 3, 128, false, 0, false, false},
    {"L64 D128 causal", 1, 64, 64, 2, 2, 128, true, 0, false, false},
    {"L257 D128", 1, 257, 257, 2, 2, 128, false, 0, false, false},
    {"L257 D64 causal", 2, 257, 257, 2, 2, 64, true, 0, false, false},
    {"L257 D128 masked", 2, 257, 257, 2, 2, 128, false, 0, true, false},
    {"L257 D128 GQA 4/2", 1, 257, 257, 4, 2, 128, false, 0, false, false},
    {"L257 D64 GQA 4/1 causal", 1, 257, 257, 4, 1, 64, true, 0, false, false},
    {"L300 D128 frame 40", 1, 300, 300, 2, 2, 128, false, 40, false, false},
    {"L200 D128 varlen", 3, 200, 200, 2, 2, 128, false, 0, false, true},
    {"L40 D128 varlen masked", 2, 40, 40, 2, 2, 128, false, 0, true, true},
    {"Lq100 Lk333 D128 cross", 2, 100, 333, 2, 2, 128, false, 0, false, false},
    {"L130 D96 (naive path)", 1, 130, 130, 2, 2, 96, false, 0, false, false},
    {"L4096 D128", 1, 4096, 4096, 2, 2, 128, false, 0, false, false},
    {"L4096 D64 causal", 1, 4096, 4096, 1, 1, 64, true, 0, false, false},
  };
  for (const Case& c : cases) attn_case(c);
  gemm_case(8, 40, 16, true);
  gemm_case(37, 72, 40, false);
  gemm_case(200, 264, 136, true);
  gemm_case(300, 3072, 256, true);
  gemm_case(129, 200, 3072, false);
  if (!quick) {
    // Attention at HunyuanVideo 544x960x129: L = 67,576, 24 heads, D = 128, non-causal.
    const i64 L = 67576, H = 24, D = 128;
    bf16 *q = dev_random(L * H * D, 1, 1.0f), *k = dev_random(L * H * D, 2, 1.0f), *v = dev_random(L * H * D, 3, 1.0f), *o;
    MC_CUDA_CHECK(cudaMalloc(&o, L * H * D * 2));
    AttnArgs a{1, L, L, H, H, D, false, 0, nullptr, nullptr, 0};
    const double fl = 4.0 * H * (double)L * L * D;
    attn_mode() = 0;
    float ms = time_ms([&] { attention((Stream)0, q, k, v, o, a); }, 5);
    printf("attention mma   L=%lld H=%lld D=%lld: %.1f ms, %.1f TFLOP/s\n", (long long)L, (long long)H, (long long)D, ms, fl / ms * 1e-9);
    attn_mode() = 1;
    ms = time_ms([&] { attention((Stream)0, q, k, v, o, a); }, 1);
    printf("attention naive L=%lld H=%lld D=%lld: %.1f ms, %.1f TFLOP/s\n", (long long)L, (long long)H, (long long)D, ms, fl / ms * 1e-9);
    attn_mode() = 0;
    cudaFree(q); cudaFree(k); cudaFree(v); cudaFree(o);
    // GEMM at the MLP's second linear: (67,576 x 12,288) x (3,072 x 12,288)^T, bf16 bias.
    const i64 M = 67576, N = 3072, K = 12288;
    bf16 *x = dev_random(M * K, 4, 1.0f), *w = dev_random(N * K, 5, 0.02f), *bb = dev_random(N, 6, 1.0f), *y;
    MC_CUDA_CHECK(cudaMalloc(&y, M * N * 2));
    const double gf = 2.0 * M * N * K;
    const char* names[3] = {"auto(lt?)", "mma", "wmma"};
    for (int mode = 0; mode < 3; mode++) {
      gemm_mode() = mode;
      float t = time_ms([&] { linear((Stream)0, x, w, bb, y, M, N, K); }, mode == 2 ? 1 : 5);
      printf("gemm %-9s %lldx%lldx%lld: %.2f ms, %.1f TFLOP/s\n", names[mode], (long long)M, (long long)N, (long long)K, t, gf / t * 1e-9);
    }
    gemm_mode() = 0;
  }
  printf("%s: %d failing checks\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
