/*
 * arena.cuh: one allocation per arena, laid out by a generated table (llm.c's
 * malloc_and_point_activations). Codegen emits `TensorSpec {name, offset, bytes, align}` rows from
 * the memory plan (or sequential offsets when there is none); the runtime allocates `total` bytes
 * once, zeroes them, checks every offset against its alignment and the arena size, and points each
 * tensor at base + offset. A size-0 tensor gets nullptr. Offsets are size_t: at 720x1280x129 a
 * single activation is >2^31 bytes, so int would overflow. An arena on the host (pinned) holds the
 * weights of a program that streams them to the GPU layer by layer (weight_stream.cuh).
 */
#pragma once
#include "common.cuh"  // defines: MC_CHECK, MC_CUDA_CHECK
#include "stream.cuh"  // defines: host_alloc, host_free

namespace mc {

struct TensorSpec {
  const char* name;  // checkpoint name or scope/var (for messages only)
  size_t offset;     // bytes from the arena base
  size_t bytes;
  size_t align;      // the alignment the kernels need (256: tensor-core tiles and vector loads)
};

struct Arena {
  char* base = nullptr;
  size_t total = 0;
  bool pinned_host = false;  // in page-locked host memory instead of on the device
};

inline void* dev_alloc(size_t bytes) {
  void* p = nullptr;
#ifdef __CUDACC__
  MC_CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
  MC_CUDA_CHECK(cudaMemset(p, 0, bytes));  // zeroed: a bug that reads unwritten memory reads 0, not noise
#else
  p = calloc(bytes ? bytes : 1, 1);
  MC_CHECK(p != nullptr, "out of host memory for the arena");
#endif
  return p;
}
inline void dev_free(void* p) {
#ifdef __CUDACC__
  if (p) MC_CUDA_CHECK(cudaFree(p));
#else
  free(p);
#endif
}

/** Allocates the arena (on the device, or in pinned host memory) and fills ptrs[i] from the table. */
inline Arena arena_create(size_t total, const TensorSpec* specs, int n, void** ptrs, bool pinned_host = false) {
  Arena a;
  a.total = total;
  a.pinned_host = pinned_host;
  if (pinned_host) {
    a.base = (char*)host_alloc(total);
    memset(a.base, 0, total);
  } else {
    a.base = (char*)dev_alloc(total);
  }
  for (int i = 0; i < n; i++) {
    const TensorSpec& t = specs[i];
    if (t.offset % t.align != 0 || t.offset + t.bytes > total) {
      fprintf(stderr, "[mc ERROR] arena table: '%s' at offset %zu (%zu bytes) is misaligned (needs %zu) or past the arena (%zu bytes)\n",
              t.name, t.offset, t.bytes, t.align, total);
      exit(1);
    }
    ptrs[i] = t.bytes == 0 ? nullptr : (void*)(a.base + t.offset);
  }
  return a;
}

inline void arena_destroy(Arena& a) {
  if (a.pinned_host) host_free(a.base);
  else dev_free(a.base);
  a.base = nullptr;
}

}  // namespace mc
