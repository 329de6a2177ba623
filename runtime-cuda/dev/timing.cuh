/*
 * dev/timing.cuh: the kernel harnesses' timer. time_ms(f, reps) runs f once to warm up, then reps
 * times between CUDA events on the default stream, and returns the median in milliseconds.
 */
#pragma once
#include <algorithm>  // defines: std::sort
#include <vector>     // defines: std::vector
#include "common.cuh" // defines: MC_CUDA_CHECK

template <class F> static float time_ms(F f, int reps) {
  cudaEvent_t e0, e1;
  MC_CUDA_CHECK(cudaEventCreate(&e0));
  MC_CUDA_CHECK(cudaEventCreate(&e1));
  f(); MC_CUDA_CHECK(cudaDeviceSynchronize());  // warm-up
  std::vector<float> t;
  for (int r = 0; r < reps; r++) {
    cudaEventRecord(e0); f(); cudaEventRecord(e1); MC_CUDA_CHECK(cudaEventSynchronize(e1));
    float ms; cudaEventElapsedTime(&ms, e0, e1); t.push_back(ms);
  }
  MC_CUDA_CHECK(cudaGetLastError());
  cudaEventDestroy(e0); cudaEventDestroy(e1);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
