/*
 * gemm.cuh: linear and batched matmul.
 *   linear: y[m, n] = sum_k x[m, k] * W[n, k] + b[n]     x (M, K), W (N, K) PyTorch layout, b (N) or null
 *   matmul: y[p, m, n] = sum_k a[p, m, k] * b[p, k, n]
 * Reference (CPU, and the GPU for any dtype mix): one output element per index, acc_t accumulation.
 * GPU bf16 x bf16: tensor cores through WMMA (sm_80+), fp32 accumulation. Tile 64x64 per block of
 * 4 warps (2x2 warps of 32x32 = 2x2 fragments of 16x16), K step 32, staged through shared memory
 * with zero fill at the edges (any M, N, K), bias and the output conversion in the epilogue.
 * Not here yet: cp.async pipelining, larger tiles, the dlopen'ed cuBLASLt path.
 */
#pragma once
#include "common.cuh"  // defines: parallel_for, ld, st
#if defined(__CUDACC__)
#include <mma.h>       // defines: nvcuda::wmma
#include <cuda_bf16.h> // defines: __nv_bfloat16
#endif

namespace mc {

// ---- kernels

#if defined(__CUDACC__)
template <class Tb, class Ty>
__global__ void __launch_bounds__(128) gemm_bf16_wmma_kernel(const bf16* __restrict__ A, const bf16* __restrict__ B, const Tb* __restrict__ bias, Ty* __restrict__ C, int M, int N, int K) {
#if __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  __shared__ __align__(32) __nv_bfloat16 As[64][40];  // A tile (m, k), +8 pad against bank conflicts
  __shared__ __align__(32) __nv_bfloat16 Bs[64][40];  // W tile (n, k): read as a col-major (k, n) operand
  __shared__ __align__(32) float Cs[64][68];
  const int m0 = blockIdx.y * 64, n0 = blockIdx.x * 64;
  const int warp = threadIdx.x / 32, wm = warp / 2, wn = warp % 2;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
  for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);
  const bool vec = (K % 8) == 0;
  for (int k0 = 0; k0 < K; k0 += 32) {
    // Each thread stages 2 chunks of 8 elements of A and of B (64 rows x 32 cols = 256 chunks).
    for (int c = threadIdx.x; c < 256; c += 128) {
      int r = c / 4, kc = (c % 4) * 8;
      for (int which = 0; which < 2; which++) {
        const bf16* src = which ? B : A;
        int row = (which ? n0 : m0) + r, rows = which ? N : M;
        __nv_bfloat16* dst = which ? &Bs[r][kc] : &As[r][kc];
        if (vec && row < rows && k0 + kc + 8 <= K) {
          *(uint4*)dst = *(const uint4*)(src + (size_t)row * K + k0 + kc);  // 16-byte load
        } else {
          for (int e = 0; e < 8; e++) {
            int k = k0 + kc + e;
            uint16_t bits = (row < rows && k < K) ? src[(size_t)row * K + k].bits : 0;
            dst[e] = *(__nv_bfloat16*)&bits;
          }
        }
      }
    }
    __syncthreads();
    for (int kk = 0; kk < 32; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b[2];
      for (int i = 0; i < 2; i++) wmma::load_matrix_sync(a[i], &As[wm * 32 + i * 16][kk], 40);
      for (int j = 0; j < 2; j++) wmma::load_matrix_sync(b[j], &Bs[wn * 32 + j * 16][kk], 40);
      for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) wmma::store_matrix_sync(&Cs[wm * 32 + i * 16][wn * 32 + j * 16], acc[i][j], 68, wmma::mem_row_major);
  __syncthreads();
  for (int e = threadIdx.x; e < 64 * 64; e += 128) {
    int r = e / 64, c = e % 64, m = m0 + r, n = n0 + c;
    if (m < M && n < N) st(C[(size_t)m * N + n], Cs[r][c] + (bias ? (float)ld(bias[n]) : 0.0f));
  }
#endif
}
#endif

// ---- launchers

template <class Tx, class Tw, class Tb, class Ty>
void linear(Stream s, const Tx* x, const Tw* w, const Tb* b, Ty* y, i64 M, i64 N, i64 K) {
  parallel_for(s, M * N, [=] MC_HD(i64 i) {
    i64 m = i / N, n = i % N;
    acc_t acc = b ? ld(b[n]) : 0;
    for (i64 k = 0; k < K; k++) acc += ld(x[m * K + k]) * ld(w[n * K + k]);
    st(y[i], acc);
  });
}

#if defined(__CUDACC__)
// bf16 activations and weights: tensor cores.
template <class Tb, class Ty>
void linear(Stream s, const bf16* x, const bf16* w, const Tb* b, Ty* y, i64 M, i64 N, i64 K) {
  MC_CHECK(M < (1ll << 31) && N < (1ll << 31) && K < (1ll << 31), "linear: a dimension exceeds 2^31");
  dim3 grid((unsigned)CEIL_DIV(N, (i64)64), (unsigned)CEIL_DIV(M, (i64)64));
  gemm_bf16_wmma_kernel<Tb, Ty><<<grid, 128, 0, s>>>(x, w, b, y, (int)M, (int)N, (int)K);
  MC_CUDA_CHECK(cudaGetLastError());
}
#endif

template <class T>
void matmul(Stream s, const T* a, const T* b, T* y, i64 P, i64 M, i64 K, i64 N) {
  parallel_for(s, P * M * N, [=] MC_HD(i64 i) {
    i64 p = i / (M * N), m = (i / N) % M, n = i % N;
    acc_t acc = 0;
    for (i64 k = 0; k < K; k++) acc += ld(a[(p * M + m) * K + k]) * ld(b[(p * K + k) * N + n]);
    st(y[i], acc);
  });
}

}  // namespace mc
