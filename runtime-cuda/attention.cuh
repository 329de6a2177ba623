/*
 * attention.cuh: softmax(q k^T / sqrt(D)) v, flash-attention layout.
 *   q (B, Lq, Hq, D), k and v (B, Lk, Hkv, D), out (B, Lq, Hq, D); query head h reads kv head h / (Hq/Hkv).
 * Key j is visible to query i when all of these hold:
 *   causal: j <= i;   frame f > 0: j / f <= i / f (the VAE's frame-causal mask);
 *   mask (B, Lk) bool: mask[b][j];   segments (i32 cumulative offsets over the packed batch,
 *   token g = b*L + i): j's segment == i's segment (flash_attn_varlen's cu_seqlens).
 * A query with no visible key outputs 0. Softmax is the online (streaming) form: running max m,
 * running sum l, and o rescaled by exp(m_old - m_new) as each key arrives.
 * Reference: one query row per index. GPU bf16 with D % 16 == 0, D <= 128: a FlashAttention-2 style
 * kernel on WMMA tensor cores: 64 queries per block (16 per warp), key tiles of 64 staged in shared
 * memory, S = Q K^T and O += P V on tensor cores, the row max/sum in shared memory, and key tiles
 * outside the causal / frame / segment range skipped. Not here yet: cp.async double buffering.
 */
#pragma once
#include "common.cuh"  // defines: parallel_for, ld, st
#if defined(__CUDACC__)
#include <mma.h>       // defines: nvcuda::wmma
#include <cuda_bf16.h> // defines: __nv_bfloat16
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

// ---- reference: one (b, i, h) query row, online softmax, D <= 256

template <class T>
void attention_reference(Stream s, const T* q, const T* k, const T* v, T* o, AttnArgs a) {
  MC_CHECK(a.D <= 256, "attention: head dim above 256");
  parallel_for(s, a.B * a.Lq * a.Hq, [=] MC_HD(i64 r) {
    i64 h = r % a.Hq, i = (r / a.Hq) % a.Lq, b = r / (a.Hq * a.Lq);
    i64 hk = h / (a.Hq / a.Hkv);
    const T* qr = q + r * a.D;
    acc_t acc[256];
    for (i64 d = 0; d < a.D; d++) acc[d] = 0;
    acc_t m = -INFINITY, l = 0, scale = (acc_t)1 / sqrt((acc_t)a.D);
    i64 qseg = a.segs ? segment_of(a.segs, a.nsegs1, b * a.Lq + i) : 0;
    for (i64 j = 0; j < a.Lk; j++) {
      if (!attn_visible(a, b, i, j, qseg)) continue;
      const T* kr = k + ((b * a.Lk + j) * a.Hkv + hk) * a.D;
      const T* vr = v + ((b * a.Lk + j) * a.Hkv + hk) * a.D;
      acc_t sc = 0;
      for (i64 d = 0; d < a.D; d++) sc += ld(qr[d]) * ld(kr[d]);
      sc *= scale;
      acc_t mn = sc > m ? sc : m;
      acc_t alpha = exp(m - mn), p = exp(sc - mn);  // rescale what we have; weight of key j
      l = l * alpha + p;
      for (i64 d = 0; d < a.D; d++) acc[d] = acc[d] * alpha + p * ld(vr[d]);
      m = mn;
    }
    for (i64 d = 0; d < a.D; d++) st(o[r * a.D + d], l > 0 ? acc[d] / l : 0);
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
#endif

// ---- launchers

template <class T>
void attention(Stream s, const T* q, const T* k, const T* v, T* o, AttnArgs a) { attention_reference(s, q, k, v, o, a); }

#if defined(__CUDACC__)
inline void attention(Stream s, const bf16* q, const bf16* k, const bf16* v, bf16* o, AttnArgs a) {
  if (a.D % 16 != 0 || a.D > 128) { attention_reference(s, q, k, v, o, a); return; }
  size_t smem = 3 * 64 * (a.D + 8) * 2 + 64 * 68 * 4 + 64 * 72 * 2 + 64 * (a.D + 4) * 4 + 3 * 64 * 4;
  MC_CUDA_CHECK(cudaFuncSetAttribute(flash_attn_bf16_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  dim3 grid((unsigned)CEIL_DIV(a.Lq, (i64)64), (unsigned)a.Hq, (unsigned)a.B);
  flash_attn_bf16_kernel<<<grid, 128, smem, s>>>(q, k, v, o, a);
  MC_CUDA_CHECK(cudaGetLastError());
}
#endif

}  // namespace mc
