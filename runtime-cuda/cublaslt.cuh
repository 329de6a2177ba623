/*
 * cublaslt.cuh: optional cuBLASLt for bf16 linear layers, loaded with dlopen at run time.
 *   y (M, N) = x (M, K) W (N, K)^T + b (N), all bf16, fp32 accumulation (CUBLAS_COMPUTE_32F).
 * No cuBLAS headers or link flags are needed to build: the few types and enum values used are
 * declared here (values from cublasLt.h / cublas_api.h, stable since CUDA 11). The library is looked
 * up once (libcublasLt.so.13, then .so.12); when it is missing, or any call fails, gemm_bf16 returns
 * false and gemm.cuh runs its own kernel. MC_GEMM=mma or =wmma skips this path entirely.
 * Column-major view: y^T (N x M, ld N) = op_T(W as K x N, ld K) * (x^T as K x M, ld K), and the bias
 * epilogue adds b along the N rows of that view.
 */
#pragma once
#include "common.cuh"  // defines: bf16, Stream, i64, MC_CUDA_CHECK
#if defined(__CUDACC__)
#include <dlfcn.h>        // defines: dlopen, dlsym
#include <type_traits>    // defines: std::is_same
#include <library_types.h> // defines: CUDA_R_16BF, CUDA_R_32F

namespace mc {
namespace lt {

typedef int Status;                              // cublasStatus_t, 0 = success
typedef void *Handle, *Desc, *Layout, *Pref;     // opaque pointers
struct Algo { uint64_t data[8]; };               // cublasLtMatmulAlgo_t
struct Heuristic { Algo algo; size_t workspace; Status state; float waves; int reserved[4]; };
enum : int { COMPUTE_32F = 68, OP_N = 0, OP_T = 1, DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7,
             DESC_BIAS_POINTER = 8, EPILOGUE_DEFAULT = 1, EPILOGUE_BIAS = 4, PREF_MAX_WORKSPACE = 1 };

struct Api {
  Status (*create)(Handle*);
  Status (*desc_create)(Desc*, int, int);
  Status (*desc_set)(Desc, int, const void*, size_t);
  Status (*desc_destroy)(Desc);
  Status (*layout_create)(Layout*, int, uint64_t, uint64_t, int64_t);
  Status (*layout_destroy)(Layout);
  Status (*pref_create)(Pref*);
  Status (*pref_set)(Pref, int, const void*, size_t);
  Status (*pref_destroy)(Pref);
  Status (*heuristic)(Handle, Desc, Layout, Layout, Layout, Layout, Pref, int, Heuristic*, int*);
  Status (*matmul)(Handle, Desc, const void*, const void*, Layout, const void*, Layout, const void*, const void*, Layout,
                   void*, Layout, const Algo*, void*, size_t, cudaStream_t);
  Handle handle = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 32u << 20;  // 32 MiB, what cuBLAS asks for on Hopper
};

// The loaded library, or null (absent, a symbol missing, or MC_GEMM set to a hand-written kernel).
inline Api* api() {
  static Api* p = []() -> Api* {
    const char* e = getenv("MC_GEMM");
    if (e && (!strcmp(e, "mma") || !strcmp(e, "wmma"))) return nullptr;
    void* lib = dlopen("libcublasLt.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libcublasLt.so.12", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return nullptr;
    Api* a = new Api();
    bool ok = true;
    auto sym = [&](auto& fn, const char* name) { *(void**)&fn = dlsym(lib, name); ok = ok && fn; };
    sym(a->create, "cublasLtCreate");
    sym(a->desc_create, "cublasLtMatmulDescCreate");
    sym(a->desc_set, "cublasLtMatmulDescSetAttribute");
    sym(a->desc_destroy, "cublasLtMatmulDescDestroy");
    sym(a->layout_create, "cublasLtMatrixLayoutCreate");
    sym(a->layout_destroy, "cublasLtMatrixLayoutDestroy");
    sym(a->pref_create, "cublasLtMatmulPreferenceCreate");
    sym(a->pref_set, "cublasLtMatmulPreferenceSetAttribute");
    sym(a->pref_destroy, "cublasLtMatmulPreferenceDestroy");
    sym(a->heuristic, "cublasLtMatmulAlgoGetHeuristic");
    sym(a->matmul, "cublasLtMatmul");
    if (!ok || a->create(&a->handle) != 0 || cudaMalloc(&a->workspace, a->workspace_bytes) != cudaSuccess) {
      cudaGetLastError();
      delete a;
      return nullptr;
    }
    if (getenv("MC_VERBOSE")) fprintf(stderr, "[mc] cuBLASLt loaded for bf16 linear layers\n");
    return a;
  }();
  return p;
}

// One planned shape: descriptors and the heuristic's first algorithm, reused on every call.
struct Plan { i64 M, N, K; bool bias; Desc desc; Layout la, lb, lc; Algo algo; bool ok; };

inline Plan* plan_for(Api* a, i64 M, i64 N, i64 K, bool bias) {
  static Plan plans[128];
  static int nplans = 0;
  for (int i = 0; i < nplans; i++)
    if (plans[i].M == M && plans[i].N == N && plans[i].K == K && plans[i].bias == bias) return &plans[i];
  if (nplans == 128) return nullptr;
  Plan& p = plans[nplans++];
  p = Plan{M, N, K, bias, nullptr, nullptr, nullptr, nullptr, {}, false};
  int ta = OP_T, tb = OP_N;
  uint32_t epi = bias ? EPILOGUE_BIAS : EPILOGUE_DEFAULT;
  uint64_t ws = a->workspace_bytes;
  Pref pref = nullptr;
  bool ok = a->desc_create(&p.desc, COMPUTE_32F, CUDA_R_32F) == 0 &&
            a->desc_set(p.desc, DESC_TRANSA, &ta, sizeof ta) == 0 &&
            a->desc_set(p.desc, DESC_TRANSB, &tb, sizeof tb) == 0 &&
            a->desc_set(p.desc, DESC_EPILOGUE, &epi, sizeof epi) == 0 &&
            a->layout_create(&p.la, CUDA_R_16BF, (uint64_t)K, (uint64_t)N, K) == 0 &&  // W: K x N col-major, ld K
            a->layout_create(&p.lb, CUDA_R_16BF, (uint64_t)K, (uint64_t)M, K) == 0 &&  // x^T: K x M, ld K
            a->layout_create(&p.lc, CUDA_R_16BF, (uint64_t)N, (uint64_t)M, N) == 0 &&  // y^T: N x M, ld N
            a->pref_create(&pref) == 0 && a->pref_set(pref, PREF_MAX_WORKSPACE, &ws, sizeof ws) == 0;
  Heuristic h[1];
  int found = 0;
  ok = ok && a->heuristic(a->handle, p.desc, p.la, p.lb, p.lc, p.lc, pref, 1, h, &found) == 0 && found > 0;
  if (pref) a->pref_destroy(pref);
  if (ok) p.algo = h[0].algo;
  p.ok = ok;
  return &p;
}

// y = x W^T + b through cuBLASLt; false (nothing launched) when it does not apply here.
template <class Tb, class Ty>
bool gemm_bf16(Stream s, const bf16* x, const bf16* w, const Tb* b, Ty* y, i64 M, i64 N, i64 K) {
  if (!std::is_same<Ty, bf16>::value || (b && !std::is_same<Tb, bf16>::value)) return false;
  if (K <= 0 || M <= 0 || N <= 0 || K % 8 || N % 8 || (((uintptr_t)x | (uintptr_t)w | (uintptr_t)y | (uintptr_t)b) % 16)) return false;
  Api* a = api();
  if (!a) return false;
  Plan* p = plan_for(a, M, N, K, b != nullptr);
  if (!p || !p->ok) return false;
  if (b) {
    const void* bp = b;
    if (a->desc_set(p->desc, DESC_BIAS_POINTER, &bp, sizeof bp) != 0) return false;
  }
  const float one = 1.0f, zero = 0.0f;
  return a->matmul(a->handle, p->desc, &one, w, p->la, x, p->lb, &zero, y, p->lc, y, p->lc, &p->algo,
                   a->workspace, a->workspace_bytes, s) == 0;
}

}  // namespace lt
}  // namespace mc
#endif
