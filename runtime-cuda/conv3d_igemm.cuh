/*
 * conv3d_igemm.cuh: conv3d as an implicit GEMM on tensor cores (CUDA build, bf16 / fp16 storage, sm_80+).
 * Included by conv3d.cuh under nvcc, after ConvArgs; conv3d_direct there is the reference.
 *
 * GEMM view, with taps = kt*kh*kw and tap = (dt*kh + dh)*kw + dw:
 *   y[m][n] = bias[n] + sum_k A[m][k] * Wr[n][k]
 *   m = b*P + (ot*Ho + oh)*Wo + ow     M = B*P, P = To*Ho*Wo   (output positions)
 *   n = o                               N = Co
 *   k = tap*Cip + c                     K = taps*Cip, Cip = Ci rounded up to 32 (the K step)
 *   A[m][k]  = x[b, c, src(ot*st + dt - ft), src(oh*sh + dh - fh), src(ow*sw + dw - fw)], 0 for c >= Ci;
 *              src() clamps into range when causal, else an index out of range makes A = 0
 *   Wr[n][k] = W[n, c, dt, dh, dw], 0 for c >= Ci (the weights repacked tap-major, see below)
 * K is ordered tap-major (not the weights' c-major order) so that one K step of 32 is one tap and 32
 * channels: the source position of a row is computed once per tap (not per element), and the 32
 * channels of a row are plain strided loads (T*H*W apart). Padding Ci to Cip keeps every K step
 * inside one tap; it only costs the first conv of a model (Ci = 3 or 16). The repack of the weights
 * into Wr (N x K) is a per-call parallel_for into stream-ordered scratch (cudaMallocAsync): at most
 * 14 MB (512 x 512 x 27), microseconds against the conv's milliseconds; skipped for 1x1x1 convs with
 * Ci % 32 == 0, whose weights already are Wr.
 *
 * Kernel: a block of 256 threads (8 warps) computes a 128 x BN tile of y, BN = 128, 64 or 32 (small
 * Co, e.g. the 3-channel output conv, wastes less). Per K step of 32:
 *   A tile (128 x 32): thread t owns row t % 128 and channels (t / 128) * 16 + [0, 16) for the whole
 *     K loop, so its output position (b, ot, oh, ow) is decomposed once, in registers. Consecutive
 *     threads are consecutive m, i.e. consecutive ow: the 2-byte loads of a warp coalesce. The 16
 *     values are loaded into registers one step ahead (their latency hides behind the MMAs of the
 *     current step) and stored as two 16-byte rows of As[m][k] (KP = 40: conflict-free).
 *   B tile (BN x 32): cp.async 16-byte chunks of Wr rows, one step ahead; rows >= N are zero-filled.
 *   Two shared-memory stages, one __syncthreads per step. Warps are laid out (8 / (BN/32)) x (BN/32),
 *     each owning (BM / warps_m) x 32 as m16n8k16 mma.sync fragments loaded with ldmatrix, exactly as
 *     gemm_bf16_mma_kernel (gemm.cuh) does, with an fp16 variant of the mma; fp32 accumulators.
 *   Epilogue: acc + bias[n] in fp32, rounded once by st() into a (BN, 128 + 8) C tile in the same
 *     shared memory (n-major: y is contiguous along m for a fixed n), then written to y with
 *     coalesced 2-byte stores; rows m >= M and columns n >= N are skipped.
 * Shared memory: 2 x (128 + BN) x 40 x 2 B = 40 KB at BN = 128 (+1 KB of row offsets), static (under
 * 48 KB, no opt-in attribute), so two blocks fit per SM; launch bounds cap registers at 128 for that
 * (ptxas, sm_90, BN = 128: 128 registers, 8 bytes of spill outside the MMA loop).
 * Contract: x, w, bias, y device pointers of one 16-bit type, no alignment needed (Wr is ours; w is
 * used directly only when 16-byte aligned); any B, Ci, Co, sizes, kernel, stride and front pad that
 * give To, Ho, Wo >= 1. Returns false (the caller runs the direct kernel) when the kernel was compiled
 * for a PTX arch below sm_80, a size reaches 2^30 (the int coordinate math), or cudaMallocAsync fails.
 */
#pragma once
#include <initializer_list>  // defines: std::initializer_list (the range checks)
#include <type_traits>       // defines: std::is_same
#include "common.cuh"        // defines: bf16, fp16, ld, st, parallel_for, MC_CUDA_CHECK
#include "gemm.cuh"          // defines: ptx::cp16, ptx::ldsm4, ptx::smem, ptx::commit, ptx::wait

namespace mc {

// MC_CONV: unset = implicit GEMM for bf16 / fp16; "direct" = the direct kernel. 0 / 1; writable for tests.
inline int& conv_mode() {
  static int m = [] {
    const char* e = getenv("MC_CONV");
    return (e && !strcmp(e, "direct")) ? 1 : 0;
  }();
  return m;
}

// The shape as the kernel sees it (int where a value is a coordinate, i64 where it feeds an offset).
struct ConvGemm {
  int Ci, T, H, W, N, Wo, kh, kw, st, sh, sw, ft, fh, fw, causal;
  int Cip, nk, ntn;       // Ci padded to 32, K steps (taps * Cip / 32), tiles along N
  i64 M, P, HoWo, THW, Kp;  // B*P, To*Ho*Wo, Ho*Wo, T*H*W, taps*Cip
};

// c (16x8 f32) += a (16x16, row) * b (16x8, col), bf16 or fp16 inputs.
template <class T>
__device__ __forceinline__ void conv_mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same<T, fp16>::value)
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  else
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Block (m tile bid / ntn, n tile bid % ntn): N tiles vary fastest, so the blocks that gather the
// same A rows run together and share them through L2.
template <class T, int BN>
__global__ void __launch_bounds__(256, 2) conv3d_igemm_kernel(const T* __restrict__ x, const T* __restrict__ wr, const T* __restrict__ bias, T* __restrict__ y, const ConvGemm g) {
#if __CUDA_ARCH__ >= 800
  constexpr int BM = 128, BK = 32, KP = BK + 8, NT = 256;
  constexpr int WN = BN / 32, WM = 8 / WN, WTM = BM / WM, MF = WTM / 16;  // warps along n / m, warp rows, m fragments
  constexpr int CP = BM + 8;                                              // C tile row (one n) in elements
  constexpr int PIPE = 2 * (BM + BN) * KP * 2, CTILE = BN * CP * 2;
  __shared__ __align__(128) unsigned char smem[PIPE > CTILE ? PIPE : CTILE];
  __shared__ i64 yoff[BM];  // y offset of row m (b*Co*P + position), -1 past M
  uint16_t* As = (uint16_t*)smem;  // 2 x (BM, KP): As[m][k]
  uint16_t* Bs = As + 2 * BM * KP; // 2 x (BN, KP): Bs[n][k]
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, wm = warp / WN, wn = warp % WN;
  const int n0 = (int)(blockIdx.x % (unsigned)g.ntn) * BN;
  const i64 m0 = (i64)(blockIdx.x / (unsigned)g.ntn) * BM;

  // This thread's A row and channel half, fixed for the whole K loop.
  const int row = tid % BM, cg = tid / BM;
  const bool mvalid = m0 + row < g.M;
  const uint16_t* xb;  // x at (b, channel 0)
  int tb, hb, wb;      // source coordinates of tap (0, 0, 0), before clamping
  {
    const i64 m = mvalid ? m0 + row : 0, b = m / g.P, pos = m % g.P;
    const int ot = (int)(pos / g.HoWo), r = (int)(pos % g.HoWo), oh = r / g.Wo, ow = r % g.Wo;
    tb = ot * g.st - g.ft; hb = oh * g.sh - g.fh; wb = ow * g.sw - g.fw;
    xb = (const uint16_t*)x + b * g.Ci * g.THW;
    if (cg == 0) yoff[row] = mvalid ? b * g.N * g.P + pos : -1;
  }
  int dt = 0, dh = 0, dw = 0, c0 = 0;  // the K step the next load_a reads
  const uint16_t* ap = xb;             // x at (b, channel 0, source position of the current tap)
  bool aok = false;                    // the source position exists (always, when causal and m < M)
  uint32_t areg[8];                    // 16 channels of this row, two per register (low half = lower k)
  auto load_a = [&]() {
    if (c0 == 0) {  // a new tap: this row's source position
      int it = tb + dt, ih = hb + dh, iw = wb + dw;
      bool ok = mvalid;
      if (g.causal) {
        it = min(max(it, 0), g.T - 1); ih = min(max(ih, 0), g.H - 1); iw = min(max(iw, 0), g.W - 1);
      } else {
        ok = ok && it >= 0 && it < g.T && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
      }
      aok = ok;
      ap = xb + (ok ? ((i64)it * g.H + ih) * g.W + iw : 0);
    }
    const int cb = c0 + cg * 16;
    const uint16_t* p = ap + (i64)cb * g.THW;
#pragma unroll
    for (int j = 0; j < 16; j += 2) {  // p walks the channels (one pointer, not 16 hoisted offsets)
      const uint32_t lo = (aok && cb + j < g.Ci) ? *p : 0u;
      p += g.THW;
      const uint32_t hi = (aok && cb + j + 1 < g.Ci) ? *p : 0u;
      p += g.THW;
      areg[j / 2] = lo | (hi << 16);
    }
    c0 += BK;
    if (c0 >= g.Cip) { c0 = 0; if (++dw == g.kw) { dw = 0; if (++dh == g.kh) { dh = 0; ++dt; } } }
  };
  auto store_a = [&](int stage) {  // 32 bytes at As[stage][row][cg*16]: 16-byte aligned (KP*2 = 80)
    uint4* d = (uint4*)(As + (stage * BM + row) * KP + cg * 16);
    d[0] = make_uint4(areg[0], areg[1], areg[2], areg[3]);
    d[1] = make_uint4(areg[4], areg[5], areg[6], areg[7]);
  };
  const uint16_t* wq = (const uint16_t*)wr;
  auto load_b = [&](int ks, int stage) {  // Wr[n0 + r][ks*32 + c]: 4 chunks of 8 per row
    const i64 k0 = (i64)ks * BK;
    for (int e = tid; e < BN * 4; e += NT) {
      const int r = e / 4, c = (e % 4) * 8;
      const bool ok = n0 + r < g.N;
      ptx::cp16(ptx::smem(Bs + (stage * BN + r) * KP + c), wq + (ok ? (i64)(n0 + r) * g.Kp + k0 + c : 0), ok ? 16 : 0);
    }
  };

  float acc[MF][4][4];
#pragma unroll
  for (int i = 0; i < MF; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;

  load_a();
  load_b(0, 0);
  ptx::commit();
  store_a(0);
  for (int ks = 0; ks < g.nk; ks++) {
    const int cur = ks & 1;
    const bool more = ks + 1 < g.nk;
    ptx::wait<0>();   // this thread's B copies of step ks have landed ...
    __syncthreads();  // ... and everyone's, with the A stores; stage cur ^ 1 is free (step ks - 1 is done)
    if (more) { load_b(ks + 1, cur ^ 1); ptx::commit(); load_a(); }
    const uint16_t* At = As + cur * BM * KP;
    const uint16_t* Bt = Bs + cur * BN * KP;
#pragma unroll
    for (int kk = 0; kk < BK; kk += 16) {
      uint32_t af[MF][4], bfr[2][4];
#pragma unroll
      for (int i = 0; i < MF; i++)  // A fragment: rows wm*WTM + i*16 + (l%16), cols kk + (l/16)*8
        ptx::ldsm4(af[i], ptx::smem(At + (wm * WTM + i * 16 + lane % 16) * KP + kk + (lane / 16) * 8));
#pragma unroll
      for (int j = 0; j < 2; j++)  // B fragments of n8 tiles 2j, 2j+1: rows (n) j*16 + (l/16)*8 + l%8, cols kk + ((l/8)%2)*8
        ptx::ldsm4(bfr[j], ptx::smem(Bt + (wn * 32 + j * 16 + (lane / 16) * 8 + lane % 8) * KP + kk + ((lane / 8) % 2) * 8));
#pragma unroll
      for (int i = 0; i < MF; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) {
          conv_mma<T>(acc[i][2 * j], af[i], bfr[j][0], bfr[j][1]);
          conv_mma<T>(acc[i][2 * j + 1], af[i], bfr[j][2], bfr[j][3]);
        }
    }
    if (more) store_a(cur ^ 1);  // nobody reads stage cur ^ 1 until after the next barrier
  }
  __syncthreads();  // all warps are done with the stages: the shared memory becomes the C tile

  // Fragment (i, j) element e is tile row wm*WTM + i*16 + l/4 + (e/2)*8, column wn*32 + j*8 + (l%4)*2 + e%2.
  T* Cs = (T*)smem;  // (BN, CP): Cs[n][m]
  float bv[4][2];
#pragma unroll
  for (int j = 0; j < 4; j++)
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int n = n0 + wn * 32 + j * 8 + (lane % 4) * 2 + h;
      bv[j][h] = (bias && n < g.N) ? (float)ld(bias[n]) : 0.0f;
    }
#pragma unroll
  for (int i = 0; i < MF; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int ml = wm * WTM + i * 16 + lane / 4 + (e / 2) * 8, nl = wn * 32 + j * 8 + (lane % 4) * 2 + e % 2;
        st(Cs[nl * CP + ml], acc[i][j][e] + bv[j][e % 2]);
      }
  __syncthreads();
  for (int e = tid; e < BN * BM; e += NT) {  // consecutive threads: consecutive m, contiguous in y
    const int nl = e / BM, ml = e % BM;
    const i64 yo = yoff[ml];
    if (n0 + nl < g.N && yo >= 0) y[yo + (i64)(n0 + nl) * g.P] = Cs[nl * CP + ml];
  }
#endif
}

// True when the kernel instantiation was compiled from PTX for sm_80+ (else its body is empty).
template <class T, int BN>
bool conv3d_igemm_built() {
  static const bool ok = [] {
    cudaFuncAttributes fa;
    if (cudaFuncGetAttributes(&fa, conv3d_igemm_kernel<T, BN>) != cudaSuccess) { (void)cudaGetLastError(); return false; }
    return fa.ptxVersion >= 80;
  }();
  return ok;
}

template <class T, int BN>
void conv3d_igemm_launch(Stream s, const T* x, const T* wr, const T* bias, T* y, ConvGemm g) {
  g.ntn = (int)CEIL_DIV((i64)g.N, (i64)BN);
  const i64 blocks = CEIL_DIV(g.M, (i64)128) * g.ntn;  // < 2^31: checked by conv3d_igemm
  conv3d_igemm_kernel<T, BN><<<(unsigned)blocks, 256, 0, s>>>(x, wr, bias, y, g);
  MC_CUDA_CHECK(cudaGetLastError());
}

template <class T>
bool conv3d_igemm(Stream s, const T* x, const T* w, const T* bias, T* y, const ConvArgs& a) {
  static_assert(std::is_same<T, bf16>::value || std::is_same<T, fp16>::value, "conv3d_igemm: bf16 or fp16 storage");
  const i64 M = a.B * a.To * a.Ho * a.Wo, taps = a.k[0] * a.k[1] * a.k[2];
  if (M <= 0 || a.Co <= 0) return true;  // nothing to compute
  const i64 Cip = CEIL_DIV(a.Ci, (i64)32) * 32, Kp = taps * Cip;
  const i64 lim = 1ll << 30;  // every int field, and the int coordinate arithmetic, stays far from overflow
  for (i64 v : {a.Ci, a.T, a.H, a.W, a.Co, a.To, a.Ho, a.Wo, a.k[0], a.k[1], a.k[2], a.s[0], a.s[1], a.s[2],
                a.front[0], a.front[1], a.front[2], Kp / 32, a.Ho * a.Wo,
                a.To * a.s[0] + a.k[0], a.Ho * a.s[1] + a.k[1], a.Wo * a.s[2] + a.k[2]})  // o*s + dk
    if (v < 0 || v >= lim) return false;
  if (a.Ci <= 0 || taps <= 0 || CEIL_DIV(M, (i64)128) * CEIL_DIV(a.Co, (i64)32) >= (1ll << 31)) return false;
  const int BN = a.Co <= 32 ? 32 : a.Co <= 64 ? 64 : 128;  // small Co (the RGB output conv): narrower tiles
  if (!(BN == 32 ? conv3d_igemm_built<T, 32>() : BN == 64 ? conv3d_igemm_built<T, 64>() : conv3d_igemm_built<T, 128>()))
    return false;
  ConvGemm g;
  g.Ci = (int)a.Ci; g.T = (int)a.T; g.H = (int)a.H; g.W = (int)a.W; g.N = (int)a.Co; g.Wo = (int)a.Wo;
  g.kh = (int)a.k[1]; g.kw = (int)a.k[2];
  g.st = (int)a.s[0]; g.sh = (int)a.s[1]; g.sw = (int)a.s[2];
  g.ft = (int)a.front[0]; g.fh = (int)a.front[1]; g.fw = (int)a.front[2];
  g.causal = a.causal ? 1 : 0;
  g.Cip = (int)Cip; g.nk = (int)(Kp / 32); g.ntn = 0;
  g.M = M; g.P = a.To * a.Ho * a.Wo; g.HoWo = a.Ho * a.Wo; g.THW = a.T * a.H * a.W; g.Kp = Kp;

  // Wr (N x Kp), tap-major: the weights themselves for an aligned 1x1x1 conv with Ci % 32 == 0.
  const T* wr = w;
  T* scratch = nullptr;
  if (!(taps == 1 && Cip == a.Ci && (uintptr_t)w % 16 == 0)) {
    if (cudaMallocAsync((void**)&scratch, (size_t)(a.Co * Kp) * sizeof(T), s) != cudaSuccess) {
      (void)cudaGetLastError();  // not fatal: the direct kernel needs no scratch
      return false;
    }
    const i64 Ci = a.Ci;
    parallel_for(s, a.Co * Kp, [=] MC_HD(i64 i) {
      const i64 n = i / Kp, r = i % Kp, tap = r / Cip, c = r % Cip;
      scratch[i] = c < Ci ? w[(n * Ci + c) * taps + tap] : T{0};
    });
    wr = scratch;
  }
  if (BN == 32) conv3d_igemm_launch<T, 32>(s, x, wr, bias, y, g);
  else if (BN == 64) conv3d_igemm_launch<T, 64>(s, x, wr, bias, y, g);
  else conv3d_igemm_launch<T, 128>(s, x, wr, bias, y, g);
  if (scratch) MC_CUDA_CHECK(cudaFreeAsync(scratch, s));  // stream-ordered: after the kernel
  return true;
}

}  // namespace mc
