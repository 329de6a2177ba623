/*
 * common.cuh: what every runtime header needs. Storage types (bf16 and fp16 as 16-bit structs that
 * convert with round-to-nearest-even on host and device alike), checked CUDA calls that name
 * file:line, a Stream handle, and `parallel_for`, the one loop both backends share:
 *   - CPU build (g++): a plain loop (OpenMP when built with -fopenmp), math in double (acc_t);
 *   - CUDA build (nvcc): a grid-stride kernel over a __host__ __device__ lambda, math in float.
 * A kernel is written once as the body for one index; its launcher calls parallel_for. The hot
 * kernels (GEMM, attention) add a tensor-core path under #ifdef __CUDACC__ next to that reference.
 */
#pragma once
#include <cmath>     // defines: exp, sqrt, tanh, erf
#include <cstdint>   // defines: int64_t, uint16_t, uint32_t
#include <cstdio>    // defines: fprintf
#include <cstdlib>   // defines: exit
#include <cstring>   // defines: memcpy
#ifdef __CUDACC__
#include <cuda_runtime.h>  // defines: cudaStream_t, cudaMalloc, cudaMemcpyAsync
#define MC_HD __host__ __device__
#else
#define MC_HD
#endif

#define CEIL_DIV(a, b) (((a) + (b) - 1) / (b))

namespace mc {
typedef int64_t i64;

// Math inside a kernel: double on the CPU (the reference), float on the GPU.
#ifdef __CUDA_ARCH__
typedef float acc_t;
#else
typedef double acc_t;
#endif

[[noreturn]] inline void fatal(const char* what, const char* file, int line) {
  fprintf(stderr, "[mc ERROR] %s at %s:%d\n", what, file, line);
  exit(1);
}
#define MC_CHECK(cond, msg) do { if (!(cond)) ::mc::fatal(msg, __FILE__, __LINE__); } while (0)

#ifdef __CUDACC__
inline void cuda_check(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess) {
    fprintf(stderr, "[CUDA ERROR] %s: %s at %s:%d\n", call, cudaGetErrorString(e), file, line);
    exit(1);
  }
}
#define MC_CUDA_CHECK(x) ::mc::cuda_check((x), #x, __FILE__, __LINE__)
typedef cudaStream_t Stream;
#else
typedef int Stream;  // the CPU backend runs everything in order on the calling thread
#endif

// ---- storage types: 16-bit floats stored as bits; bool as one byte

struct bf16 { uint16_t bits; };
struct fp16 { uint16_t bits; };
typedef uint8_t boolean;

MC_HD inline float bits_to_float(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f; memcpy(&f, &u, 4); return f;
#endif
}
MC_HD inline uint32_t float_to_bits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u; memcpy(&u, &f, 4); return u;
#endif
}

// bf16: the top 16 bits of an fp32, rounded to nearest even; NaN stays NaN.
MC_HD inline bf16 float_to_bf16(float f) {
  uint32_t u = float_to_bits(f);
  if (f != f) return bf16{0x7fc0};
  return bf16{(uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}
MC_HD inline float bf16_to_float(bf16 h) { return bits_to_float((uint32_t)h.bits << 16); }

// fp16 (IEEE binary16), round to nearest even, with subnormals.
MC_HD inline fp16 float_to_fp16(float f) {
  uint32_t u = float_to_bits(f);
  uint32_t sign = (u >> 16) & 0x8000u, exp = (u >> 23) & 0xffu, man = u & 0x7fffffu;
  if (exp == 0xff) return fp16{(uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0u))};
  int e = (int)exp - 127 + 15;
  if (e >= 31) return fp16{(uint16_t)(sign | 0x7c00u)};
  if (e <= 0) {
    if (e < -10) return fp16{(uint16_t)sign};
    man |= 0x800000u;
    int shift = 14 - e;
    uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) h++;
    return fp16{(uint16_t)(sign | h)};
  }
  uint32_t h = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
  return fp16{(uint16_t)(sign | h)};
}
MC_HD inline float fp16_to_float(fp16 h) {
  uint32_t sign = (uint32_t)(h.bits & 0x8000u) << 16, exp = (h.bits >> 10) & 0x1fu, man = h.bits & 0x3ffu;
  if (exp == 0) {
    float v = (float)man * 5.9604644775390625e-8f;  // man * 2^-24
    return sign ? -v : v;
  }
  if (exp == 31) return bits_to_float(sign | 0x7f800000u | (man << 13));
  return bits_to_float(sign | ((exp + 112) << 23) | (man << 13));
}

// ld: storage -> math; st: math -> storage (one rounding: to fp32 first, then to 16 bits).
MC_HD inline acc_t ld(float x) { return x; }
MC_HD inline acc_t ld(double x) { return (acc_t)x; }
MC_HD inline acc_t ld(bf16 x) { return bf16_to_float(x); }
MC_HD inline acc_t ld(fp16 x) { return fp16_to_float(x); }
MC_HD inline acc_t ld(int32_t x) { return (acc_t)x; }
MC_HD inline acc_t ld(int64_t x) { return (acc_t)x; }
MC_HD inline acc_t ld(uint8_t x) { return (acc_t)x; }
MC_HD inline void st(float& d, acc_t v) { d = (float)v; }
MC_HD inline void st(bf16& d, acc_t v) { d = float_to_bf16((float)v); }
MC_HD inline void st(fp16& d, acc_t v) { d = float_to_fp16((float)v); }
MC_HD inline void st(int32_t& d, acc_t v) { d = (int32_t)v; }
MC_HD inline void st(int64_t& d, acc_t v) { d = (int64_t)v; }
MC_HD inline void st(uint8_t& d, acc_t v) { d = v != 0 ? 1 : 0; }

// ---- parallel_for: body(i) for i in [0, n)

#ifdef __CUDACC__
template <class F>
__global__ void parallel_for_kernel(i64 n, F body) {
  for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) body(i);
}
template <class F>
void parallel_for(Stream s, i64 n, F body) {
  if (n <= 0) return;
  const int block = 256;
  i64 grid = CEIL_DIV(n, (i64)block);
  if (grid > 1048576) grid = 1048576;  // grid-stride beyond ~268M elements
  parallel_for_kernel<<<(unsigned)grid, block, 0, s>>>(n, body);
  MC_CUDA_CHECK(cudaGetLastError());
}
#else
template <class F>
void parallel_for(Stream, i64 n, F body) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
  for (i64 i = 0; i < n; i++) body(i);
}
#endif

}  // namespace mc
