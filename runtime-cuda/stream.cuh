/*
 * stream.cuh: the streams and events the generated program uses. Compute runs on `compute`;
 * host-to-device copies (weights, inputs) on `h2d` and results come back on `d2h`, each ordered
 * against compute with an event, so the default stream is never used implicitly. On the CPU
 * backend all of this is a no-op: everything runs in program order. Also the pinned host staging
 * buffer that weight loading streams through, and copies between host and arena.
 */
#pragma once
#include <chrono>      // defines: steady_clock (CPU timing)
#include "common.cuh"  // defines: Stream, MC_CUDA_CHECK

namespace mc {

struct Streams {
  Stream compute{}, h2d{}, d2h{};
};

inline Streams streams_create() {
  Streams s;
#ifdef __CUDACC__
  MC_CUDA_CHECK(cudaStreamCreateWithFlags(&s.compute, cudaStreamNonBlocking));
  MC_CUDA_CHECK(cudaStreamCreateWithFlags(&s.h2d, cudaStreamNonBlocking));
  MC_CUDA_CHECK(cudaStreamCreateWithFlags(&s.d2h, cudaStreamNonBlocking));
#endif
  return s;
}

/** `after` waits for everything queued so far on `before`. */
inline void stream_wait(Stream after, Stream before) {
#ifdef __CUDACC__
  cudaEvent_t e;
  MC_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  MC_CUDA_CHECK(cudaEventRecord(e, before));
  MC_CUDA_CHECK(cudaStreamWaitEvent(after, e, 0));
  MC_CUDA_CHECK(cudaEventDestroy(e));
#else
  (void)after; (void)before;
#endif
}

inline void stream_sync(Stream s) {
#ifdef __CUDACC__
  MC_CUDA_CHECK(cudaStreamSynchronize(s));
#else
  (void)s;
#endif
}

/** Pinned (page-locked) host memory, so async copies really overlap; plain malloc on the CPU. */
inline void* host_alloc(size_t bytes) {
  void* p = nullptr;
#ifdef __CUDACC__
  MC_CUDA_CHECK(cudaMallocHost(&p, bytes ? bytes : 1));
#else
  p = malloc(bytes ? bytes : 1);
  MC_CHECK(p != nullptr, "out of host memory");
#endif
  return p;
}
inline void host_free(void* p) {
#ifdef __CUDACC__
  if (p) MC_CUDA_CHECK(cudaFreeHost(p));
#else
  free(p);
#endif
}

// cudaMemcpyDefault: with unified addressing the driver tells device from (pinned) host memory, so
// the same call also fills a pinned host weight pool (weight_stream.cuh).
inline void copy_h2d(void* dst, const void* src, size_t bytes, Stream s) {
#ifdef __CUDACC__
  MC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s));
#else
  (void)s; memcpy(dst, src, bytes);
#endif
}
inline void copy_d2h(void* dst, const void* src, size_t bytes, Stream s) {
#ifdef __CUDACC__
  MC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
#else
  (void)s; memcpy(dst, src, bytes);
#endif
}

/** Wall time of a region on a stream: CUDA events on the GPU, steady_clock on the CPU. */
struct Timer {
#ifdef __CUDACC__
  cudaEvent_t a, b;
  Stream s;
  void start(Stream st) { s = st; MC_CUDA_CHECK(cudaEventCreate(&a)); MC_CUDA_CHECK(cudaEventCreate(&b)); MC_CUDA_CHECK(cudaEventRecord(a, s)); }
  double stop_ms() { float ms; MC_CUDA_CHECK(cudaEventRecord(b, s)); MC_CUDA_CHECK(cudaEventSynchronize(b)); MC_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b)); return ms; }
#else
  std::chrono::steady_clock::time_point t0;
  void start(Stream) { t0 = std::chrono::steady_clock::now(); }
  double stop_ms() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(); }
#endif
};

}  // namespace mc
