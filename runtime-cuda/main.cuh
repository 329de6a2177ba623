/*
 * main.cuh: the driver every generated program ends with. The generated file defines the tables
 * (kWeightSpecs, kActSpecs, kWeightIo, kInputs, kOutputs, ...) and forward(); this file adds
 *   model --weights W.safetensors | --weights-plan PLAN.txt | --random-weights SEED
 *         [--inputs I.safetensors] [--out O.safetensors] [--iters N] [--profile] [--serve]
 * It allocates the two arenas (weights, activations), loads or draws the weights on the h2d stream,
 * loads the inputs (zeros when --inputs is absent), runs forward() on the compute stream N times
 * (default 1; the last run's time is printed), prints the arena sizes and the time, and writes the outputs.
 *
 * --weights-plan PLAN.txt loads weights from many files by byte ranges (the launcher resolves a
 * checkpoint's name mapping, fused/split qkv and swapped halves into row pieces, and validates every
 * shape and dtype, before writing the plan). Lines:
 *   file K PATH                      (file number K, path to the end of the line)
 *   piece NAME K DTYPE OFFSET COUNT AT
 * copies COUNT elements of DTYPE (BF16, F16, F32, ...) from byte OFFSET of file K into weight NAME at
 * element AT, converting to the program's storage dtype. Every element of every weight must be covered.
 *
 * A program compiled with --offload-weights (MC_STREAM_WEIGHTS) keeps the weights in pinned host
 * memory and streams them to two device slots layer by layer (weight_stream.cuh); the rest is the same.
 *
 * --serve keeps the weights resident and reads commands from stdin, one per line:
 *   run IN.safetensors OUT.safetensors   load every input from IN, forward, write the outputs to OUT;
 *                                        answers "ok MS" (MS: the forward's time) on stdout
 *   quit                                 (or end of input) exits
 * It prints "ready WEIGHT_BYTES ARENA_BYTES" once the weights are resident. Errors exit with status 1
 * and one line on stderr.
 */
#pragma once
#include <string>   // defines: std::string
#include <vector>   // defines: std::vector

// Weights resident on the device, or streamed layer by layer from pinned host memory.
#ifdef MC_STREAM_WEIGHTS
static const bool kWeightsOnHost = true;
static WeightStream g_ws;
static void run_forward(Stream s) { ws_forward(g_ws, kLayerFns, s); }
static void run_layer(int l, Stream s) { ws_prefetch(g_ws, l); ws_acquire(g_ws, l, s); kLayerFns[l](s); ws_release(g_ws, l, s); }
#else
static const bool kWeightsOnHost = false;
static void run_forward(Stream s) { forward(s); }
static void run_layer(int l, Stream s) { kLayerFns[l](s); }
#endif

static void release(Arena& acts, Arena& weights) {
#ifdef MC_STREAM_WEIGHTS
  ws_destroy(g_ws);
#endif
  arena_destroy(acts);
  arena_destroy(weights);
}

static void usage() {
  fprintf(stderr, "usage: model (--weights W.safetensors | --weights-plan PLAN.txt | --random-weights SEED) [--inputs I.safetensors] [--out O.safetensors] [--iters N] [--profile] [--serve]\n");
  exit(2);
}

[[noreturn]] static void plan_fail(const char* path, int line, const std::string& msg) {
  fprintf(stderr, "error: %s:%d: %s\n", path, line, msg.c_str());
  exit(1);
}

static int dtype_code(const std::string& s) {
  for (int d = 0; d <= DT_BOOL; d++) if (s == dtype_name(d)) return d;
  return -1;
}

/** Loads the weights by the pieces of a weights plan (see the header comment). */
static void load_plan(const char* path, Stream s) {
  FILE* fp = fopen(path, "r");
  if (!fp) plan_fail(path, 0, "cannot open the weights plan");
  std::vector<std::string> files;
  std::vector<int64_t> covered(kNumWeights > 0 ? kNumWeights : 1, 0);
  std::vector<char> line(1 << 16);
  std::vector<char> raw;
  int ln = 0;
  while (fgets(line.data(), (int)line.size(), fp)) {
    ln++;
    std::string l(line.data());
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
    if (l.empty() || l[0] == '#') continue;
    if (l.rfind("file ", 0) == 0) {
      char* end = nullptr;
      long k = strtol(l.c_str() + 5, &end, 10);
      if (k != (long)files.size() || !end || *end != ' ') plan_fail(path, ln, "expected `file K PATH` with K numbered from 0");
      files.push_back(std::string(end + 1));
      continue;
    }
    char name[1024], dt[16];
    long k;
    long long off, count, at;
    if (sscanf(l.c_str(), "piece %1023s %ld %15s %lld %lld %lld", name, &k, dt, &off, &count, &at) != 6) plan_fail(path, ln, "expected `piece NAME K DTYPE OFFSET COUNT AT`");
    int wi = -1;
    for (int i = 0; i < kNumWeights; i++) if (strcmp(kWeightIo[i].name, name) == 0) { wi = i; break; }
    if (wi < 0) plan_fail(path, ln, std::string("the program has no weight '") + name + "'");
    int sdt = dtype_code(dt);
    if (sdt < 0) plan_fail(path, ln, std::string("unknown dtype ") + dt);
    if (k < 0 || k >= (long)files.size()) plan_fail(path, ln, "file number out of range");
    const IoTensor& t = kWeightIo[wi];
    int64_t n = 1;
    for (int r = 0; r < t.rank; r++) n *= t.shape[r];
    if (off < 0 || count < 0 || at < 0 || at + count > n) plan_fail(path, ln, std::string("piece outside weight '") + name + "'");
    size_t sbytes = (size_t)count * dtype_size(sdt);
    raw.resize(sbytes ? sbytes : 1);
    FILE* wf = fopen(files[k].c_str(), "rb");
    if (!wf) plan_fail(path, ln, "cannot open " + files[k]);
    if (fseeko(wf, (off_t)off, SEEK_SET) != 0 || fread(raw.data(), 1, sbytes, wf) != sbytes) plan_fail(path, ln, files[k] + " is shorter than the plan says (truncated?)");
    fclose(wf);
    size_t dbytes = (size_t)count * dtype_size(t.dtype);
    void* stage = host_alloc(dbytes);
    if (sdt == t.dtype) memcpy(stage, raw.data(), dbytes);
    else switch (t.dtype) {
      case DT_BF16: convert_from(sdt, raw.data(), (bf16*)stage, count); break;
      case DT_F16: convert_from(sdt, raw.data(), (fp16*)stage, count); break;
      case DT_F32: convert_from(sdt, raw.data(), (float*)stage, count); break;
      default: plan_fail(path, ln, "dtype conversion into an integer weight");
    }
    copy_h2d((char*)P[t.id] + (size_t)at * dtype_size(t.dtype), stage, dbytes, s);
    stream_sync(s);
    host_free(stage);
    covered[wi] += count;
  }
  fclose(fp);
  for (int i = 0; i < kNumWeights; i++) {
    int64_t n = 1;
    for (int r = 0; r < kWeightIo[i].rank; r++) n *= kWeightIo[i].shape[r];
    if (covered[i] != n) plan_fail(path, ln, std::string("weight '") + kWeightIo[i].name + "' is covered by " + std::to_string(covered[i]) + " of its " + std::to_string(n) + " elements");
  }
}

static void load_inputs(const char* ipath, Stream s) {
  StFile inf = st_read(ipath);
  for (int i = 0; i < kNumInputs; i++) load_into(inf, kInputs[i].name, kInputs[i].dtype, kInputs[i].shape, kInputs[i].rank, P[kInputs[i].id], s);
  // Segment offsets (varlen attention): non-decreasing within [0, B x Lk], as mc eval requires.
  for (int c = 0; c < kNumSegChecks; c++) {
    const SegCheck& k = kSegChecks[c];
    std::vector<int32_t> v((size_t)k.n);
    copy_d2h(v.data(), P[k.id], v.size() * sizeof(int32_t), s);
    stream_sync(s);
    for (i64 j = 0; j < k.n; j++)
      if (v[j] < 0 || v[j] > k.limit || (j > 0 && v[j] < v[j - 1])) {
        fprintf(stderr, "error: %s: input '%s' must be non-decreasing offsets within [0, %lld]; entry %lld is %d\n", ipath, k.name, (long long)k.limit, (long long)j, v[j]);
        exit(1);
      }
  }
}

static void write_outputs(const char* opath, Streams& ss) {
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

/** The loop mode: weights stay resident; each `run IN OUT` is one forward. */
static int serve(Streams& ss) {
  printf("ready %zu %zu\n", kWeightBytes, kArenaBytes);
  fflush(stdout);
  std::vector<char> buf(1 << 16);
  while (fgets(buf.data(), (int)buf.size(), stdin)) {
    std::string l(buf.data());
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
    if (l.empty()) continue;
    if (l == "quit") break;
    if (l.rfind("run ", 0) != 0) { fprintf(stderr, "error: unknown command '%s' (expected `run IN OUT` or `quit`)\n", l.c_str()); return 1; }
    std::string rest = l.substr(4);
    size_t sp = rest.find('\t');
    if (sp == std::string::npos) sp = rest.find(' ');
    if (sp == std::string::npos) { fprintf(stderr, "error: expected `run IN OUT`\n"); return 1; }
    std::string in = rest.substr(0, sp), out = rest.substr(sp + 1);
    load_inputs(in.c_str(), ss.h2d);
    stream_wait(ss.compute, ss.h2d);
    Timer tm;
    tm.start(ss.compute);
    run_forward(ss.compute);
    double ms = tm.stop_ms();
    write_outputs(out.c_str(), ss);
    printf("ok %.3f\n", ms);
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char** argv) {
  const char *wpath = nullptr, *ipath = nullptr, *opath = nullptr, *ppath = nullptr;
  long long seed = -1;
  int iters = 1;
  bool profile = false, serving = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--profile") { profile = true; continue; }
    if (a == "--serve") { serving = true; continue; }
    if (i + 1 >= argc) usage();
    if (a == "--weights") wpath = argv[++i];
    else if (a == "--weights-plan") ppath = argv[++i];
    else if (a == "--inputs") ipath = argv[++i];
    else if (a == "--out") opath = argv[++i];
    else if (a == "--random-weights") seed = atoll(argv[++i]);
    else if (a == "--iters") iters = atoi(argv[++i]);
    else usage();
  }
  if ((wpath != nullptr) + (ppath != nullptr) + (seed >= 0) != 1 || iters < 1) usage();
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
  Arena wa = arena_create(kWeightBytes, kWeightSpecs, kNumWeights, wptr, kWeightsOnHost);
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
  } else if (ppath) {
    load_plan(ppath, ss.h2d);
  } else {
    StFile wf = st_read(wpath);
    for (int i = 0; i < kNumWeights; i++) load_into(wf, kWeightIo[i].name, kWeightIo[i].dtype, kWeightIo[i].shape, kWeightIo[i].rank, P[kWeightIo[i].id], ss.h2d);
  }
  stream_sync(ss.h2d);
#ifdef MC_STREAM_WEIGHTS
  static void* home[kTensors];
  for (int i = 0; i < kNumWeights; i++) home[kWeightIds[i]] = wptr[i];
  g_ws = ws_create(kLayerWeightStart, kLayerWeightIds, kLayerWeightOffs, kLayerWeightBytes, kNumLayers, kSlotBytes, P, home, ss.h2d);
  printf("weights: streamed from pinned host memory through 2 x %zu-byte device slots\n", kSlotBytes);
#endif
  if (serving) {
    int rc = serve(ss);
    release(aa, wa);
    return rc;
  }
  if (ipath) load_inputs(ipath, ss.h2d);
  stream_wait(ss.compute, ss.h2d);  // compute starts when every weight and input has landed
  stream_sync(ss.h2d);
  double ms = 0;
  for (int it = 0; it < (profile ? 0 : iters); it++) {
    Timer tm;
    tm.start(ss.compute);
    run_forward(ss.compute);
    ms = tm.stop_ms();
  }
  if (profile) {  // instead of --iters: one pass, layer by layer, each timed to completion
    for (int l = 0; l < kNumLayers; l++) {
      Timer tl;
      tl.start(ss.compute);
      run_layer(l, ss.compute);
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
  if (opath) write_outputs(opath, ss);
  release(aa, wa);
  return 0;
}
