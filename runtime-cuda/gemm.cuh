/*
 * gemm.cuh: linear and batched matmul.
 *   linear: y[m, n] = sum_k x[m, k] * W[n, k] + b[n]     x (M, K), W (N, K) PyTorch layout, b (N) or null
 *   matmul: y[p, m, n] = sum_k a[p, m, k] * b[p, k, n]
 * Reference (CPU, and the GPU for any dtype mix): one output element per index, acc_t accumulation.
 * GPU bf16 x bf16, fp32 accumulation, in this order of preference (MC_GEMM=lt|mma|wmma forces one):
 *   1. cuBLASLt, dlopen'ed at run time when present (cublaslt.cuh), for bf16 outputs with a bf16 or no bias;
 *   2. gemm_bf16_mma_kernel (K % 8 == 0, 16-byte aligned x and W): 128x128 tile per block of 4 warps
 *      (2x2 warps of 64x64), K step 32, a 4-stage cp.async pipeline, ldmatrix + mma.sync m16n8k16;
 *      rows past M / N and chunks past K are zero-filled by cp.async, so any M, N and K % 8 == 0 work;
 *   3. gemm_bf16_wmma_kernel: WMMA, 64x64 tiles, any M, N, K (the first kernel; kept for bisecting).
 * ptx:: holds the PTX wrappers (cp.async, ldmatrix, mma.sync) that attention.cuh uses too.
 */
#pragma once
#include "common.cuh"  // defines: parallel_for, ld, st
#if defined(__CUDACC__)
#include <mma.h>       // defines: nvcuda::wmma
#include <cuda_bf16.h> // defines: __nv_bfloat16, __floats2bfloat162_rn
#include <cstdlib>     // defines: getenv
#include "cublaslt.cuh" // defines: lt::gemm_bf16
#endif

namespace mc {

#if defined(__CUDACC__)
// ---- PTX wrappers (sm_80+): 16-byte async copies, 8x8 matrix loads, bf16 tensor-core MMA
namespace ptx {
__device__ __forceinline__ uint32_t smem(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }
// dst[0..16) = src[0..bytes), zero-filled past bytes (bytes = 0: nothing read, 16 zero bytes)
__device__ __forceinline__ void cp16(uint32_t dst, const void* src, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }
// four 8x8 b16 matrices; lane l gives the row address of matrix l/8, row l%8
__device__ __forceinline__ void ldsm4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n" : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}
__device__ __forceinline__ void ldsm4t(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n" : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}
// c (16x8 f32) += a (16x16 bf16, row) * b (16x8 bf16, col)
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// two floats -> bf16x2 (lo in the low half), round to nearest even like st()
__device__ __forceinline__ uint32_t pack(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *(uint32_t*)&v;
}
}  // namespace ptx
#endif

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

// y (M, N) = A (M, K) W (N, K)^T + bias. Block (blockIdx.y, blockIdx.x) owns y[m0..m0+128)[n0..n0+128);
// warp (wm, wn) owns its 64x64 quarter as 4x8 fragments of 16x8. Stage s of the ring holds
// As[s] (128, 40) = A[m0 + r][k0 + c] and Bs[s] (128, 40) = W[n0 + r][k0 + c] (+8 pad: conflict-free ldmatrix).
template <class Tb, class Ty>
__global__ void __launch_bounds__(128) gemm_bf16_mma_kernel(const bf16* __restrict__ A, const bf16* __restrict__ B, const Tb* __restrict__ bias, Ty* __restrict__ C, int M, int N, int K) {
#if __CUDA_ARCH__ >= 800
  constexpr int BM = 128, BN = 128, BK = 32, KP = BK + 8, S = 4;
  extern __shared__ __align__(128) unsigned char gemm_smem[];
  uint16_t* As = (uint16_t*)gemm_smem;       // S x (BM, KP)
  uint16_t* Bs = As + S * BM * KP;      // S x (BN, KP)
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, wm = warp / 2, wn = warp % 2;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN, ktiles = CEIL_DIV(K, BK);
  const uint16_t* a = (const uint16_t*)A;
  const uint16_t* w = (const uint16_t*)B;
  auto load = [&](int kt, int stage) {  // K tile kt -> stage st: 4 chunks of 8 per row, 512 chunks per operand
    const int k0 = kt * BK;
#pragma unroll
    for (int e = tid; e < BM * 4; e += 128) {
      const int r = e / 4, c = (e % 4) * 8;
      const bool kin = k0 + c < K;  // K % 8 == 0: a chunk is all in or all out
      const bool ia = kin && m0 + r < M, ib = kin && n0 + r < N;
      ptx::cp16(ptx::smem(As + (stage * BM + r) * KP + c), a + (ia ? (size_t)(m0 + r) * K + k0 + c : 0), ia ? 16 : 0);
      ptx::cp16(ptx::smem(Bs + (stage * BN + r) * KP + c), w + (ib ? (size_t)(n0 + r) * K + k0 + c : 0), ib ? 16 : 0);
    }
  };
  float acc[4][8][4];
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 8; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;
#pragma unroll
  for (int stage = 0; stage < S - 1; stage++) { if (stage < ktiles) load(stage, stage); ptx::commit(); }
  for (int kt = 0; kt < ktiles; kt++) {
    ptx::wait<S - 2>();  // tile kt has landed (this thread's copies) ...
    __syncthreads();     // ... everyone's, and stage (kt - 1) % S is free again
    if (kt + S - 1 < ktiles) load(kt + S - 1, (kt + S - 1) % S);
    ptx::commit();       // an empty group near the end keeps the wait count uniform
    const uint16_t* At = As + (kt % S) * BM * KP;
    const uint16_t* Bt = Bs + (kt % S) * BN * KP;
#pragma unroll
    for (int kk = 0; kk < BK; kk += 16) {
      uint32_t af[4][4], bfr[4][4];
#pragma unroll
      for (int i = 0; i < 4; i++)  // A fragment: rows wm*64 + i*16 + (l%16), cols kk + (l/16)*8
        ptx::ldsm4(af[i], ptx::smem(At + (wm * 64 + i * 16 + lane % 16) * KP + kk + (lane / 16) * 8));
#pragma unroll
      for (int j = 0; j < 4; j++)  // B fragments of n tiles 2j, 2j+1: rows (n) j*16 + (l/16)*8 + l%8, cols kk + ((l/8)%2)*8
        ptx::ldsm4(bfr[j], ptx::smem(Bt + (wn * 64 + j * 16 + (lane / 16) * 8 + lane % 8) * KP + kk + ((lane / 8) % 2) * 8));
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) {
          ptx::mma(acc[i][2 * j], af[i], bfr[j][0], bfr[j][1]);
          ptx::mma(acc[i][2 * j + 1], af[i], bfr[j][2], bfr[j][3]);
        }
    }
  }
  ptx::wait<0>();
  // Epilogue: fragment (i, j) element e is y[row][col], row = wm*64 + i*16 + l/4 + (e/2)*8, col = wn*64 + j*8 + (l%4)*2 + e%2.
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 8; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int m = m0 + wm * 64 + i * 16 + lane / 4 + (e / 2) * 8, n = n0 + wn * 64 + j * 8 + (lane % 4) * 2 + e % 2;
        if (m < M && n < N) st(C[(size_t)m * N + n], acc[i][j][e] + (bias ? (float)ld(bias[n]) : 0.0f));
      }
#endif
}

// MC_GEMM: unset = cuBLASLt where present and applicable, else the mma kernel; "mma" / "wmma" = that kernel.
// Returns 0 auto, 1 mma, 2 wmma. Writable so a test can switch paths.
inline int& gemm_mode() {
  static int m = [] {
    const char* e = getenv("MC_GEMM");
    if (!e) return 0;
    if (!strcmp(e, "mma")) return 1;
    if (!strcmp(e, "wmma")) return 2;
    return 0;
  }();
  return m;
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
  if (M <= 0 || N <= 0) return;
  const int mode = gemm_mode();
  if (mode == 0 && lt::gemm_bf16(s, x, w, b, y, M, N, K)) return;  // false: no cuBLASLt, or not this type mix
  const bool aligned = (((uintptr_t)x | (uintptr_t)w) % 16) == 0 && K % 8 == 0 && K > 0;
  if (mode != 2 && aligned && CEIL_DIV(M, (i64)128) < 65536) {
    const int smem = 4 * (128 + 128) * 40 * 2;  // 80 KB: two blocks per SM
    static bool attr = false;  // per <Tb, Ty> instantiation
    if (!attr) {
      MC_CUDA_CHECK(cudaFuncSetAttribute(gemm_bf16_mma_kernel<Tb, Ty>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
      attr = true;
    }
    dim3 grid((unsigned)CEIL_DIV(N, (i64)128), (unsigned)CEIL_DIV(M, (i64)128));
    gemm_bf16_mma_kernel<Tb, Ty><<<grid, 128, smem, s>>>(x, w, b, y, (int)M, (int)N, (int)K);
    MC_CUDA_CHECK(cudaGetLastError());
    return;
  }
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
