/*
 * attention.cuh: softmax(q k^T / sqrt(D)) v, flash-attention layout.
 *   q (B, Lq, Hq, D), k and v (B, Lk, Hkv, D), out (B, Lq, Hq, D); query head h reads kv head h / (Hq/Hkv).
 * Key j is visible to query i when all of these hold:
 *   causal: j <= i;   frame f > 0: j / f <= i / f (the VAE's frame-causal mask);
 *   mask (B, Lk) bool: mask[b][j];   segments (i32 cumulative offsets over the packed batch,
 *   token g = b*L + i): j's segment == i's segment (flash_attn_varlen's cu_seqlens).
 * A query with no visible key outputs 0. Softmax is the online (streaming) form: running max m,
 * running sum l, and o rescaled by exp(m_old - m_new) as each key arrives.
 * Reference: one query row per index. GPU bf16, two tensor-core kernels (MC_ATTN=naive|ref forces the
 * WMMA kernel or the reference, for bisecting):
 *   flash_attn_mma_kernel<D> (D = 16, 32, 64, 128; 16-byte aligned tensors): FlashAttention-2 on mma.sync
 *     m16n8k16. 128 queries per block of 8 warps (16 rows each); Q fragments kept in registers; key
 *     tiles of 64 (K and V) double-buffered in shared memory by cp.async (tile t+1 in flight while t is
 *     computed); S, the online softmax (exp2, row max / sum per thread, quad shuffles) and the O
 *     accumulator all in registers; P reused from S's registers as the A operand of P V. Each row's
 *     visible keys are an interval [lo, hi) (causal, frame, segment, Lk) plus the key mask; tiles
 *     fully inside every row's interval skip the per-element test, and the block reads only keys in the
 *     union of its rows' intervals;
 *   flash_attn_bf16_kernel (any D % 16 == 0, D <= 128): the first, WMMA kernel, S and P in shared memory.
 */
#pragma once
#include "common.cuh"  // defines: parallel_for, ld, st
#if defined(__CUDACC__)
#include <mma.h>       // defines: nvcuda::wmma
#include <cuda_bf16.h> // defines: __nv_bfloat16
#include <climits>     // defines: INT_MAX, INT_MIN
#include "gemm.cuh"    // defines: ptx::cp16, ptx::ldsm4, ptx::ldsm4t, ptx::mma, ptx::pack
#endif

namespace mc {

struct AttnArgs {
  i64 B, Lq, Lk, Hq, Hkv, D;
  bool causal;
  i64 frame;
  const uint8_t* mask;    // (B, Lk) or null
  const int32_t* segs;    // (nsegs + 1) or null
  i64 nsegs1;             // entries in segs
};

MC_HD inline i64 segment_of(const int32_t* segs, i64 n1, i64 g) {
  for (i64 s = 0; s + 1 < n1; s++) if (g >= segs[s] && g < segs[s + 1]) return s;
  return -1 - g;  // outside every segment: sees only itself
}

MC_HD inline bool attn_visible(const AttnArgs& a, i64 b, i64 i, i64 j, i64 qseg) {
  if (a.causal && j > i) return false;
  if (a.frame > 0 && j / a.frame > i / a.frame) return false;
  if (a.mask && !a.mask[b * a.Lk + j]) return false;
  if (a.segs && segment_of(a.segs, a.nsegs1, b * a.Lk + j) != qseg) return false;
  return true;
}

// ---- reference: one (b, i, h) query row, online softmax
// Head dims above 256 (the VAE's single 512-wide head) run in 256-wide slices of the output: each
// slice recomputes the scores (D/256 times the QK^T work) so the accumulator stays 256 registers.

template <class T>
void attention_reference(Stream s, const T* q, const T* k, const T* v, T* o, AttnArgs a) {
  parallel_for(s, a.B * a.Lq * a.Hq, [=] MC_HD(i64 r) {
    i64 h = r % a.Hq, i = (r / a.Hq) % a.Lq, b = r / (a.Hq * a.Lq);
    i64 hk = h / (a.Hq / a.Hkv);
    const T* qr = q + r * a.D;
    acc_t scale = (acc_t)1 / sqrt((acc_t)a.D);
    i64 qseg = a.segs ? segment_of(a.segs, a.nsegs1, b * a.Lq + i) : 0;
    for (i64 d0 = 0; d0 < a.D; d0 += 256) {
      const i64 dn = a.D - d0 < 256 ? a.D - d0 : 256;  // this slice's width
      acc_t acc[256];
      for (i64 d = 0; d < dn; d++) acc[d] = 0;
      acc_t m = -INFINITY, l = 0;
      for (i64 j = 0; j < a.Lk; j++) {
        if (!attn_visible(a, b, i, j, qseg)) continue;
        const T* kr = k + ((b * a.Lk + j) * a.Hkv + hk) * a.D;
        const T* vr = v + ((b * a.Lk + j) * a.Hkv + hk) * a.D + d0;
        acc_t sc = 0;
        for (i64 d = 0; d < a.D; d++) sc += ld(qr[d]) * ld(kr[d]);
        sc *= scale;
        acc_t mn = sc > m ? sc : m;
        acc_t alpha = exp(m - mn), p = exp(sc - mn);  // rescale what we have; weight of key j
        l = l * alpha + p;
        for (i64 d = 0; d < dn; d++) acc[d] = acc[d] * alpha + p * ld(vr[d]);
        m = mn;
      }
      for (i64 d = 0; d < dn; d++) st(o[r * a.D + d0 + d], l > 0 ? acc[d] / l : 0);
    }
  });
}

#if defined(__CUDACC__)
// ---- tensor-core kernel (bf16, D % 16 == 0, D <= 128)

__global__ void __launch_bounds__(128) flash_attn_bf16_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v, bf16* __restrict__ o, AttnArgs a) {
#if __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  extern __shared__ __align__(32) unsigned char smem[];
  const int D = (int)a.D, DP = D + 8, OP = D + 4;
  __nv_bfloat16* Qs = (__nv_bfloat16*)smem;           // (64, DP)
  __nv_bfloat16* Ks = Qs + 64 * DP;                    // (64, DP)
  __nv_bfloat16* Vs = Ks + 64 * DP;                    // (64, DP)
  float* S = (float*)(Vs + 64 * DP);                   // (64, 68) scores
  __nv_bfloat16* P = (__nv_bfloat16*)(S + 64 * 68);    // (64, 72) probabilities
  float* O = (float*)(P + 64 * 72);                    // (64, OP) unnormalized output
  float* rm = O + 64 * OP;                             // running max per row
  float* rl = rm + 64;                                 // running sum per row
  float* ra = rl + 64;                                 // rescale factor of this tile
  const i64 b = blockIdx.z, h = blockIdx.y, q0 = (i64)blockIdx.x * 64;
  const i64 hk = h / (a.Hq / a.Hkv);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const float scale = rsqrtf((float)D);
  // Q tile and state. Q[r][d] = q[b][q0 + r][h][d]
  for (int e = threadIdx.x; e < 64 * D / 8; e += 128) {
    int r = e / (D / 8), d = (e % (D / 8)) * 8;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (q0 + r < a.Lq) val = *(const uint4*)(q + ((b * a.Lq + q0 + r) * a.Hq + h) * D + d);
    *(uint4*)(Qs + r * DP + d) = val;
  }
  for (int e = threadIdx.x; e < 64 * OP; e += 128) O[e] = 0;
  if (threadIdx.x < 64) { rm[threadIdx.x] = -INFINITY; rl[threadIdx.x] = 0; }
  // Key range: [kbeg, kend) covers every key any query of this block can see.
  const i64 qlast = (q0 + 63 < a.Lq ? q0 + 63 : a.Lq - 1);
  i64 kbeg = 0, kend = a.Lk;
  if (a.causal) kend = qlast + 1;
  if (a.frame > 0) kend = (qlast / a.frame + 1) * a.frame;
  if (a.segs) {
    i64 s0 = segment_of(a.segs, a.nsegs1, b * a.Lq + q0), s1 = segment_of(a.segs, a.nsegs1, b * a.Lq + qlast);
    if (s0 >= 0 && s1 >= 0) {
      i64 lo = a.segs[s0] - b * a.Lk, hi = a.segs[s1 + 1] - b * a.Lk;
      if (lo > kbeg) kbeg = lo;
      if (hi < kend) kend = hi;
    }
  }
  if (kend > a.Lk) kend = a.Lk;
  kbeg = (kbeg / 64) * 64;
  __syncthreads();
  for (i64 k0 = kbeg; k0 < kend; k0 += 64) {
    for (int e = threadIdx.x; e < 64 * D / 8; e += 128) {
      int r = e / (D / 8), d = (e % (D / 8)) * 8;
      uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
      if (k0 + r < a.Lk) {
        size_t off = ((b * a.Lk + k0 + r) * a.Hkv + hk) * D + d;
        kv = *(const uint4*)(k + off);
        vv = *(const uint4*)(v + off);
      }
      *(uint4*)(Ks + r * DP + d) = kv;
      *(uint4*)(Vs + r * DP + d) = vv;
    }
    __syncthreads();
    // S[w*16 .. +16][0..64) = Q_w K^T
    for (int j = 0; j < 4; j++) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
      for (int kd = 0; kd < D; kd += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
        wmma::load_matrix_sync(fa, Qs + warp * 16 * DP + kd, DP);
        wmma::load_matrix_sync(fb, Ks + j * 16 * DP + kd, DP);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(S + warp * 16 * 68 + j * 16, acc, 68, wmma::mem_row_major);
    }
    __syncwarp();
    // Online softmax: two lanes per row, 32 columns each.
    {
      int r = warp * 16 + lane / 2, c0 = (lane % 2) * 32;
      i64 i = q0 + r;
      i64 qseg = (a.segs && i < a.Lq) ? segment_of(a.segs, a.nsegs1, b * a.Lq + i) : 0;
      float mx = -INFINITY;
      for (int c = c0; c < c0 + 32; c++) {
        i64 j = k0 + c;
        bool vis = i < a.Lq && j < a.Lk && attn_visible(a, b, i, j, qseg);
        float sc = vis ? S[r * 68 + c] * scale : -INFINITY;
        S[r * 68 + c] = sc;
        mx = fmaxf(mx, sc);
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      float mold = rm[r], mnew = fmaxf(mold, mx);
      float sum = 0;
      for (int c = c0; c < c0 + 32; c++) {
        float p = mnew == -INFINITY ? 0.0f : __expf(S[r * 68 + c] - mnew);
        P[r * 72 + c] = __float2bfloat16(p);
        sum += p;
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      float alpha = (mold == -INFINITY) ? 0.0f : __expf(mold - mnew);
      __syncwarp();
      if (lane % 2 == 0) { ra[r] = alpha; rl[r] = rl[r] * alpha + sum; rm[r] = mnew; }
    }
    __syncwarp();
    for (int e = lane; e < 16 * D; e += 32) { int r = warp * 16 + e / D; O[r * OP + e % D] *= ra[r]; }
    __syncwarp();
    // O_w += P_w V
    for (int dt = 0; dt < D; dt += 16) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, O + warp * 16 * OP + dt, OP, wmma::mem_row_major);
      for (int kt = 0; kt < 64; kt += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> fb;
        wmma::load_matrix_sync(fa, P + warp * 16 * 72 + kt, 72);
        wmma::load_matrix_sync(fb, Vs + kt * DP + dt, DP);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(O + warp * 16 * OP + dt, acc, OP, wmma::mem_row_major);
    }
    __syncthreads();
  }
  // out[b][q0 + r][h][d] = O[r][d] / l[r]
  for (int e = threadIdx.x; e < 64 * D; e += 128) {
    int r = e / D, d = e % D;
    if (q0 + r < a.Lq) st(o[((b * a.Lq + q0 + r) * a.Hq + h) * D + d], rl[r] > 0 ? O[r * OP + d] / rl[r] : 0.0f);
  }
#endif
}

// ---- mma.sync kernel (bf16, D % 16 == 0, instantiated for D = 16, 32, 64, 128)

// Block (blockIdx.x, h, b) owns queries q0 + [0, 128) of head h; warp w owns rows w*16 + [0, 16). A thread
// holds rows g = l/4 and g + 8 of its warp (l = lane) and, in each 16x8 fragment, columns (l%4)*2 + {0, 1}.
// Shared memory: Qs (128, D+8), Ks[2] (64, D+8), Vs[2] (64, D+8); Ks[buf][r][d] = k[b][k0 + r][hk][d].
template <int D>
__global__ void __launch_bounds__(256, 1) flash_attn_mma_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v, bf16* __restrict__ o, AttnArgs a) {
#if __CUDA_ARCH__ >= 800
  constexpr int BM = 128, BN = 64, DP = D + 8, CH = D / 8, NT = 256;  // +8: conflict-free ldmatrix rows
  extern __shared__ __align__(128) unsigned char fa_smem[];
  uint16_t* Qs = (uint16_t*)fa_smem;
  uint16_t* Ks = Qs + BM * DP;
  uint16_t* Vs = Ks + 2 * BN * DP;
  __shared__ int krange[2];  // union of the block's rows' visible intervals
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const i64 b = blockIdx.z, h = blockIdx.y, q0 = (i64)blockIdx.x * BM, hk = h / (a.Hq / a.Hkv);
  const i64 qs = a.Hq * D, ks = a.Hkv * D;  // elements from one token to the next
  const uint16_t* qb = (const uint16_t*)q + (b * a.Lq * a.Hq + h) * D;   // q[b][0][h][0]
  const uint16_t* kb = (const uint16_t*)k + (b * a.Lk * a.Hkv + hk) * D;  // k[b][0][hk][0]
  const uint16_t* vb = (const uint16_t*)v + (b * a.Lk * a.Hkv + hk) * D;
  for (int e = tid; e < BM * CH; e += NT) {  // Q tile, rows past Lq zero-filled
    const int r = e / CH, c = (e % CH) * 8;
    const bool in = q0 + r < a.Lq;
    ptx::cp16(ptx::smem(Qs + r * DP + c), qb + (in ? (q0 + r) * qs + c : 0), in ? 16 : 0);
  }
  ptx::commit();
  // Row t of this thread (query i): keys j with lo[t] <= j < hi[t] (and mask[b][j]) are visible.
  int lo[2], hi[2];
#pragma unroll
  for (int t = 0; t < 2; t++) {
    const i64 i = q0 + warp * 16 + lane / 4 + t * 8;
    i64 l0 = 0, h0 = a.Lk;
    if (a.causal && i + 1 < h0) h0 = i + 1;                                        // j <= i
    if (a.frame > 0 && (i / a.frame + 1) * a.frame < h0) h0 = (i / a.frame + 1) * a.frame;  // j/f <= i/f
    if (a.segs && i < a.Lq) {  // same segment of the packed batch (outside all: only token g itself)
      const i64 g = b * a.Lq + i, sg = segment_of(a.segs, a.nsegs1, g);
      const i64 sl = (sg >= 0 ? a.segs[sg] : g) - b * a.Lk, sh = (sg >= 0 ? a.segs[sg + 1] : g + 1) - b * a.Lk;
      if (sl > l0) l0 = sl;
      if (sh < h0) h0 = sh;
    }
    if (i >= a.Lq || h0 <= l0) { l0 = INT_MAX; h0 = INT_MIN; }  // nothing visible (or no such row)
    lo[t] = (int)l0;
    hi[t] = (int)h0;
  }
  if (tid == 0) { krange[0] = INT_MAX; krange[1] = INT_MIN; }
  __syncthreads();
#pragma unroll
  for (int t = 0; t < 2; t++)
    if (lo[t] < hi[t]) { atomicMin(&krange[0], lo[t]); atomicMax(&krange[1], hi[t]); }
  __syncthreads();
  const int kbeg = krange[0], ntiles = krange[1] > kbeg ? CEIL_DIV(krange[1] - kbeg, BN) : 0;
  auto load_kv = [&](int tile, int buf) {  // keys kbeg + tile*64 + [0, 64) -> buffer buf, rows past Lk zero-filled
    const int k0 = kbeg + tile * BN;
    for (int e = tid; e < BN * CH; e += NT) {
      const int r = e / CH, c = (e % CH) * 8;
      const bool in = k0 + r < a.Lk;
      const i64 off = in ? (i64)(k0 + r) * ks + c : 0;
      ptx::cp16(ptx::smem(Ks + (buf * BN + r) * DP + c), kb + off, in ? 16 : 0);
      ptx::cp16(ptx::smem(Vs + (buf * BN + r) * DP + c), vb + off, in ? 16 : 0);
    }
    ptx::commit();
  };
  if (ntiles > 0) load_kv(0, 0);
  ptx::wait<0>();
  __syncthreads();
  uint32_t qf[D / 16][4];  // A fragments of this warp's 16 rows: rows l%16, cols kk*16 + (l/16)*8
#pragma unroll
  for (int kk = 0; kk < D / 16; kk++) ptx::ldsm4(qf[kk], ptx::smem(Qs + (warp * 16 + lane % 16) * DP + kk * 16 + (lane / 16) * 8));
  float acc[D / 8][4];  // O, unnormalized: fragment dt covers d = dt*8 + [0, 8)
#pragma unroll
  for (int dt = 0; dt < D / 8; dt++) acc[dt][0] = acc[dt][1] = acc[dt][2] = acc[dt][3] = 0.0f;
  float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.0f, 0.0f};  // running max (log2 units), this thread's partial sum
  const float sl2 = rsqrtf((float)D) * 1.4426950408889634f;          // 1/sqrt(D) * log2(e): exp(x) = exp2(x log2 e)
  for (int t = 0; t < ntiles; t++) {
    const int buf = t & 1, k0 = kbeg + t * BN;
    if (t > 0) { ptx::wait<0>(); __syncthreads(); }  // tile t landed; everyone is done with tile t-1
    if (t + 1 < ntiles) load_kv(t + 1, buf ^ 1);
    const uint16_t* Kt = Ks + buf * BN * DP;
    const uint16_t* Vt = Vs + buf * BN * DP;
    float sc[BN / 8][4];  // S = Q K^T: fragment nt covers keys k0 + nt*8 + [0, 8)
#pragma unroll
    for (int nt = 0; nt < BN / 8; nt++) sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++)
#pragma unroll
      for (int np = 0; np < BN / 16; np++) {  // B fragments of key tiles 2np, 2np+1: rows np*16 + (l/16)*8 + l%8
        uint32_t kf[4];
        ptx::ldsm4(kf, ptx::smem(Kt + (np * 16 + (lane / 16) * 8 + lane % 8) * DP + kk * 16 + ((lane / 8) % 2) * 8));
        ptx::mma(sc[2 * np], qf[kk], kf[0], kf[1]);
        ptx::mma(sc[2 * np + 1], qf[kk], kf[2], kf[3]);
      }
#pragma unroll
    for (int r = 0; r < 2; r++) {
      if (a.mask || k0 < lo[r] || k0 + BN > hi[r]) {  // tile not wholly visible to row r: test each key
#pragma unroll
        for (int nt = 0; nt < BN / 8; nt++)
#pragma unroll
          for (int e = 0; e < 2; e++) {
            const int j = k0 + nt * 8 + (lane % 4) * 2 + e;
            const bool vis = j >= lo[r] && j < hi[r] && (!a.mask || a.mask[b * a.Lk + j]);
            if (!vis) sc[nt][r * 2 + e] = -INFINITY;
          }
      }
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < BN / 8; nt++) mx = fmaxf(mx, fmaxf(sc[nt][r * 2], sc[nt][r * 2 + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));  // the 4 lanes of a quad share the row
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float mnew = fmaxf(mrow[r], mx * sl2);
      const float mu = mnew == -INFINITY ? 0.0f : mnew;  // no visible key yet: p = 0, not NaN
      const float alpha = exp2f(mrow[r] - mu);          // rescale of what we have
      mrow[r] = mnew;
      float sum = 0.0f;
#pragma unroll
      for (int nt = 0; nt < BN / 8; nt++)
#pragma unroll
        for (int e = 0; e < 2; e++) {
          const float p = exp2f(fmaf(sc[nt][r * 2 + e], sl2, -mu));
          sc[nt][r * 2 + e] = p;
          sum += p;
        }
      lrow[r] = lrow[r] * alpha + sum;
#pragma unroll
      for (int dt = 0; dt < D / 8; dt++) { acc[dt][r * 2] *= alpha; acc[dt][r * 2 + 1] *= alpha; }
    }
#pragma unroll
    for (int kk = 0; kk < BN / 16; kk++) {  // O += P V over keys kk*16 + [0, 16): S fragments 2kk, 2kk+1 are P's A fragment
      uint32_t pa[4] = {ptx::pack(sc[2 * kk][0], sc[2 * kk][1]), ptx::pack(sc[2 * kk][2], sc[2 * kk][3]),
                        ptx::pack(sc[2 * kk + 1][0], sc[2 * kk + 1][1]), ptx::pack(sc[2 * kk + 1][2], sc[2 * kk + 1][3])};
#pragma unroll
      for (int dp = 0; dp < D / 16; dp++) {  // V^T fragments of d tiles 2dp, 2dp+1: key rows kk*16 + l%16, cols dp*16 + (l/16)*8
        uint32_t vf[4];
        ptx::ldsm4t(vf, ptx::smem(Vt + (kk * 16 + lane % 16) * DP + dp * 16 + (lane / 16) * 8));
        ptx::mma(acc[2 * dp], pa, vf[0], vf[1]);
        ptx::mma(acc[2 * dp + 1], pa, vf[2], vf[3]);
      }
    }
  }
  // out[b][i][h][d] = O / l (0 where no key was visible)
#pragma unroll
  for (int r = 0; r < 2; r++) {
    float l = lrow[r];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const i64 i = q0 + warp * 16 + lane / 4 + r * 8;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    if (i < a.Lq) {
      uint32_t* orow = (uint32_t*)((uint16_t*)o + ((b * a.Lq + i) * a.Hq + h) * D);
#pragma unroll
      for (int dt = 0; dt < D / 8; dt++) orow[(dt * 8 + (lane % 4) * 2) / 2] = ptx::pack(acc[dt][r * 2] * inv, acc[dt][r * 2 + 1] * inv);
    }
  }
#endif
}

// MC_ATTN: unset = mma kernel where it applies; "naive" = the WMMA kernel; "ref" = the reference.
// Returns 0, 1, 2 in that order. Writable so a test can switch kernels.
inline int& attn_mode() {
  static int m = [] {
    const char* e = getenv("MC_ATTN");
    if (e && !strcmp(e, "naive")) return 1;
    if (e && !strcmp(e, "ref")) return 2;
    return 0;
  }();
  return m;
}

template <int D>
void flash_attn_mma(Stream s, const bf16* q, const bf16* k, const bf16* v, bf16* o, const AttnArgs& a) {
  const int smem = (128 + 4 * 64) * (D + 8) * 2;  // Q + 2 x (K, V): 102 KB at D = 128, 18 KB at D = 16
  static bool attr = false;
  if (!attr) {
    MC_CUDA_CHECK(cudaFuncSetAttribute(flash_attn_mma_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    attr = true;
  }
  dim3 grid((unsigned)CEIL_DIV(a.Lq, (i64)128), (unsigned)a.Hq, (unsigned)a.B);
  flash_attn_mma_kernel<D><<<grid, 256, smem, s>>>(q, k, v, o, a);
  MC_CUDA_CHECK(cudaGetLastError());
}
#endif

// ---- launchers

template <class T>
void attention(Stream s, const T* q, const T* k, const T* v, T* o, AttnArgs a) { attention_reference(s, q, k, v, o, a); }

#if defined(__CUDACC__)
inline void attention(Stream s, const bf16* q, const bf16* k, const bf16* v, bf16* o, AttnArgs a) {
  if (a.B <= 0 || a.Lq <= 0 || a.Hq <= 0) return;
  const int mode = attn_mode();
  const bool aligned = (((uintptr_t)q | (uintptr_t)k | (uintptr_t)v | (uintptr_t)o) % 16) == 0;
  const bool fits = a.Lq < INT_MAX / 2 && a.Lk < INT_MAX / 2 && a.B < 65536 && a.Hq < 65536;
  if (mode == 0 && aligned && fits) switch (a.D) {
    case 128: flash_attn_mma<128>(s, q, k, v, o, a); return;
    case 64: flash_attn_mma<64>(s, q, k, v, o, a); return;
    case 32: flash_attn_mma<32>(s, q, k, v, o, a); return;
    case 16: flash_attn_mma<16>(s, q, k, v, o, a); return;
    default: break;  // other head dims: the WMMA kernel or the reference below
  }
  if (mode == 2 || a.D % 16 != 0 || a.D > 128) { attention_reference(s, q, k, v, o, a); return; }
  size_t smem = 3 * 64 * (a.D + 8) * 2 + 64 * 68 * 4 + 64 * 72 * 2 + 64 * (a.D + 4) * 4 + 3 * 64 * 4;
  MC_CUDA_CHECK(cudaFuncSetAttribute(flash_attn_bf16_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  dim3 grid((unsigned)CEIL_DIV(a.Lq, (i64)64), (unsigned)a.Hq, (unsigned)a.B);
  flash_attn_bf16_kernel<<<grid, 128, smem, s>>>(q, k, v, o, a);
  MC_CUDA_CHECK(cudaGetLastError());
}
#endif

}  // namespace mc
