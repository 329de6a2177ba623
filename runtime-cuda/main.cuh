/*
 * main.cuh: the driver every generated program ends with. The generated file defines the tables
 * (kWeightSpecs, kActSpecs, kWeightIo, kInputs, kOutputs, ...) and forward(); this file adds
 *   model --weights W.safetensors | --random-weights SEED  [--inputs I.safetensors] [--out O.safetensors] [--iters N] [--profile]
 * It allocates the two arenas (weights, activations), loads or draws the weights on the h2d stream,
 * loads the inputs (zeros when --inputs is absent), runs forward() on the compute stream N times
 * (default 1; the last run's time is printed), prints the arena sizes and the time, and writes the outputs.
 */
#pragma once
#include <string>   // defines: std::string
#include <vector>   // defines: std::vector

static void usage() {
  fprintf(stderr, "usage: model (--weights W.safetensors | --random-weights SEED) [--inputs I.safetensors] [--out O.safetensors] [--iters N] [--profile]\n");
  exit(2);
}

int main(int argc, char** argv) {
  const char *wpath = nullptr, *ipath = nullptr, *opath = nullptr;
  long long seed = -1;
  int iters = 1;
  bool profile = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--profile") { profile = true; continue; }
    if (i + 1 >= argc) usage();
    if (a == "--weights") wpath = argv[++i];
    else if (a == "--inputs") ipath = argv[++i];
    else if (a == "--out") opath = argv[++i];
    else if (a == "--random-weights") seed = atoll(argv[++i]);
    else if (a == "--iters") iters = atoi(argv[++i]);
    else usage();
  }
  if ((wpath == nullptr) == (seed < 0) || iters < 1) usage();
#ifdef __CUDACC__
  int ndev = 0;
  if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
    fprintf(stderr, "error: no CUDA device (or no driver); build with `mc compile --backend cpu` to run on the CPU\n");
    return 1;
  }
#endif
  Streams ss = streams_create();
  static void* wptr[kNumWeights > 0 ? kNumWeights : 1];
  static void* aptr[kNumActs];
  Arena wa = arena_create(kWeightBytes, kWeightSpecs, kNumWeights, wptr);
  Arena aa = arena_create(kArenaBytes, kActSpecs, kNumActs, aptr);
  for (int i = 0; i < kNumWeights; i++) P[kWeightIds[i]] = wptr[i];
  for (int i = 0; i < kNumActs; i++) P[kActIds[i]] = aptr[i];
  printf("arena: %zu bytes (activations), %zu bytes (weights)\n", kArenaBytes, kWeightBytes);
  // Weights: drawn on the device, or read and copied through a staging buffer, on the h2d stream.
  if (seed >= 0) {
    for (int i = 0; i < kNumWeights; i++) {
      const IoTensor& t = kWeightIo[i];
      i64 n = 1;
      for (int k = 0; k < t.rank; k++) n *= t.shape[k];
      switch (t.dtype) {
        case DT_BF16: fill_random(ss.h2d, (bf16*)P[t.id], n, t.name, (uint32_t)seed, t.init); break;
        case DT_F16: fill_random(ss.h2d, (fp16*)P[t.id], n, t.name, (uint32_t)seed, t.init); break;
        default: fill_random(ss.h2d, (float*)P[t.id], n, t.name, (uint32_t)seed, t.init); break;
      }
    }
  } else {
    StFile wf = st_read(wpath);
    for (int i = 0; i < kNumWeights; i++) load_into(wf, kWeightIo[i].name, kWeightIo[i].dtype, kWeightIo[i].shape, kWeightIo[i].rank, P[kWeightIo[i].id], ss.h2d);
  }
  if (ipath) {
    StFile inf = st_read(ipath);
    for (int i = 0; i < kNumInputs; i++) load_into(inf, kInputs[i].name, kInputs[i].dtype, kInputs[i].shape, kInputs[i].rank, P[kInputs[i].id], ss.h2d);
  }
  stream_wait(ss.compute, ss.h2d);  // compute starts when every weight and input has landed
  stream_sync(ss.h2d);
  double ms = 0;
  for (int it = 0; it < (profile ? 0 : iters); it++) {
    Timer tm;
    tm.start(ss.compute);
    forward(ss.compute);
    ms = tm.stop_ms();
  }
  if (profile) {  // instead of --iters: one pass, layer by layer, each timed to completion
    for (int l = 0; l < kNumLayers; l++) {
      Timer tl;
      tl.start(ss.compute);
      kLayerFns[l](ss.compute);
      double lm = tl.stop_ms();
      ms += lm;
      printf("layer %s: %.3f ms\n", kLayerNames[l], lm);
    }
  }
  printf("forward: %.3f ms (%.2f TFLOP/s on %.4g GEMM+conv+attention FLOPs)\n", ms, kForwardFlops / (ms * 1e-3) / 1e12, kForwardFlops);
#ifdef __CUDACC__
  size_t free_b = 0, total_b = 0;
  MC_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  printf("device memory: %zu bytes free of %zu after allocating the arenas\n", free_b, total_b);
#endif
  if (opath) {
    stream_wait(ss.d2h, ss.compute);  // results are complete before they are copied back
    std::vector<StOut> outs;
    for (int i = 0; i < kNumOutputs; i++) {
      const IoTensor& t = kOutputs[i];
      StOut o;
      o.name = t.name;
      o.dtype = t.dtype;
      size_t n = 1;
      for (int k = 0; k < t.rank; k++) { o.shape.push_back(t.shape[k]); n *= (size_t)t.shape[k]; }
      o.bytes.resize(n * dtype_size(t.dtype));
      copy_d2h(o.bytes.data(), P[t.id], o.bytes.size(), ss.d2h);
      outs.push_back(o);
    }
    stream_sync(ss.d2h);
    st_write(opath, outs);
  }
  arena_destroy(aa);
  arena_destroy(wa);
  return 0;
}
