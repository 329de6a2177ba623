/*
 * embed.cuh: embeddings and reductions.
 *   embedding: y[r, :] = W[ids[r], :]  (an id outside [0, V) writes zeros and sets *bad)
 *   timestep_embedding: y[b] = [cos(t_b f_0) .. cos(t_b f_{h-1}), sin(t_b f_0) .. sin(t_b f_{h-1})],
 *     h = dim/2, f_i = fp32(exp(-ln(max_period) * i / h)), output fp32
 *   mean / sum over the middle axis of x viewed as (outer, n, inner); a mask (outer, n) keeps only
 *     entries where it is true; a masked mean divides by the count (all false gives 0).
 */
#pragma once
#include "common.cuh"  // defines: parallel_for, ld, st

namespace mc {

template <class I, class T>
void embedding(Stream s, const I* ids, const T* w, T* y, i64 R, i64 V, i64 Dm) {
  parallel_for(s, R * Dm, [=] MC_HD(i64 i) {
    i64 r = i / Dm, d = i % Dm, id = (i64)ids[r];
    if (id < 0 || id >= V) { st(y[i], 0); return; }
    y[i] = w[id * Dm + d];
  });
}

template <class T>
void timestep_embedding(Stream s, const T* t, float* y, i64 B, i64 dim, double max_period) {
  const i64 h = dim / 2;
  parallel_for(s, B * h, [=] MC_HD(i64 i) {
    i64 b = i / h, k = i % h;
    float f = (float)exp(-log(max_period) * (double)k / (double)h);  // PyTorch makes f in fp32
    acc_t arg = ld(t[b]) * (acc_t)f;
    y[b * dim + k] = (float)cos(arg);
    y[b * dim + h + k] = (float)sin(arg);
  });
}

template <class T>
void reduce_axis(Stream s, const T* x, const uint8_t* mask, T* y, i64 outer, i64 n, i64 inner, bool mean) {
  parallel_for(s, outer * inner, [=] MC_HD(i64 i) {
    i64 o = i / inner, j = i % inner;
    acc_t sum = 0, cnt = 0;
    for (i64 k = 0; k < n; k++) {
      if (mask && !mask[o * n + k]) continue;
      sum += ld(x[(o * n + k) * inner + j]);
      cnt += 1;
    }
    st(y[i], mean ? (cnt > 0 ? sum / cnt : 0) : sum);
  });
}

}  // namespace mc
