/*
 * weight_stream.cuh: weights streamed layer by layer from a pinned host pool (`mc compile
 * --offload-weights`), for models whose weights do not fit on the GPU beside their activations.
 *
 *   The weight arena lives in pinned host memory (page-locked: copies run at full PCIe speed and
 *   overlap compute). The device holds two slots; layer l reads its weights from slot l % 2, packed
 *   at the offsets of a generated table (kLayerWeight*). While layer l computes, layer l+1's weights
 *   are copied into the other slot on the h2d stream. That copy first waits for `freed`, recorded on
 *   the compute stream after layer l-1 (the slot's previous user), and ends by recording `ready`,
 *   which the compute stream waits for before layer l+1. So no slot is overwritten while a kernel
 *   reads it, and each copy hides behind one layer's compute when the link is fast enough.
 *   Kernels reach the slots through P[]: the host points P[w] into the slot before it launches the
 *   layer's kernels (launch arguments are captured at launch, so later rewrites are harmless).
 *
 * Table contract: layer l's weights are entries [start[l], start[l+1]) of ids/offs/bytes; tensor
 * ids[j] goes to slot offset offs[j] (aligned, non-overlapping, offs[j] + bytes[j] <= slot bytes).
 * A weight read by several layers is listed, and copied, once per layer.
 *
 * CPU backend: the same code; copies are memcpy and events no-ops (program order), so a streamed
 * program's outputs are bit-identical to the resident program's (tests/codegen.test.ts).
 */
#pragma once
#include "arena.cuh"   // defines: dev_alloc, dev_free
#include "stream.cuh"  // defines: Stream, copy_h2d, host_alloc

namespace mc {

struct WeightStream {
  const int* start;      // per layer: first table entry; start[layers] = number of entries
  const int* ids;        // tensor id of each entry
  const size_t* offs;    // its offset in the slot
  const size_t* bytes;
  int layers = 0;
  size_t slot_bytes = 0;
  char* slot[2] = {nullptr, nullptr};
  void** P = nullptr;    // the program's tensor pointers
  void** home = nullptr; // home[id]: the weight's place in the pinned host pool
  Stream h2d{};
#ifdef __CUDACC__
  cudaEvent_t ready[2], freed[2];
#endif
};

inline WeightStream ws_create(const int* start, const int* ids, const size_t* offs, const size_t* bytes, int layers,
                              size_t slot_bytes, void** P, void** home, Stream h2d) {
  WeightStream w;
  w.start = start; w.ids = ids; w.offs = offs; w.bytes = bytes; w.layers = layers;
  w.slot_bytes = slot_bytes; w.P = P; w.home = home; w.h2d = h2d;
  for (int k = 0; k < 2; k++) w.slot[k] = (char*)dev_alloc(slot_bytes);
  for (int j = 0; j < start[layers]; j++)
    MC_CHECK(offs[j] + bytes[j] <= slot_bytes, "weight stream table: an entry runs past its slot");
#ifdef __CUDACC__
  for (int k = 0; k < 2; k++) {
    MC_CUDA_CHECK(cudaEventCreateWithFlags(&w.ready[k], cudaEventDisableTiming));
    MC_CUDA_CHECK(cudaEventCreateWithFlags(&w.freed[k], cudaEventDisableTiming));
  }
#endif
  return w;
}

inline void ws_destroy(WeightStream& w) {
  for (int k = 0; k < 2; k++) { dev_free(w.slot[k]); w.slot[k] = nullptr; }
#ifdef __CUDACC__
  for (int k = 0; k < 2; k++) { MC_CUDA_CHECK(cudaEventDestroy(w.ready[k])); MC_CUDA_CHECK(cudaEventDestroy(w.freed[k])); }
#endif
}

/** Queues layer l's weights into slot l % 2 on the h2d stream, once the slot's previous user is done. */
inline void ws_prefetch(WeightStream& w, int l) {
  const int k = l & 1;
#ifdef __CUDACC__
  // A never-recorded event counts as complete, so the first use of each slot does not wait.
  MC_CUDA_CHECK(cudaStreamWaitEvent(w.h2d, w.freed[k], 0));
#endif
  for (int j = w.start[l]; j < w.start[l + 1]; j++) copy_h2d(w.slot[k] + w.offs[j], w.home[w.ids[j]], w.bytes[j], w.h2d);
#ifdef __CUDACC__
  MC_CUDA_CHECK(cudaEventRecord(w.ready[k], w.h2d));
#endif
}

/** The compute stream waits for layer l's weights; P[] points into its slot. */
inline void ws_acquire(WeightStream& w, int l, Stream compute) {
  const int k = l & 1;
#ifdef __CUDACC__
  MC_CUDA_CHECK(cudaStreamWaitEvent(compute, w.ready[k], 0));
#else
  (void)compute;
#endif
  for (int j = w.start[l]; j < w.start[l + 1]; j++) w.P[w.ids[j]] = w.slot[k] + w.offs[j];
}

/** Marks layer l's slot reusable once the compute stream has finished the layer's kernels. */
inline void ws_release(WeightStream& w, int l, Stream compute) {
#ifdef __CUDACC__
  MC_CUDA_CHECK(cudaEventRecord(w.freed[l & 1], compute));
#else
  (void)w; (void)l; (void)compute;
#endif
}

/** One forward with streamed weights: layer l+1's copy is queued before layer l's kernels. */
inline void ws_forward(WeightStream& w, void (*const* layer_fns)(Stream), Stream compute) {
  if (w.layers > 0) ws_prefetch(w, 0);
  for (int l = 0; l < w.layers; l++) {
    if (l + 1 < w.layers) ws_prefetch(w, l + 1);
    ws_acquire(w, l, compute);
    layer_fns[l](compute);
    ws_release(w, l, compute);
  }
}

}  // namespace mc
