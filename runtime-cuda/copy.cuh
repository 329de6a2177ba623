/*
 * copy.cuh: the data movement behind every view op (reshape, transpose, slice, split, chunk,
 * concat, patchify) and unpatchify: one strided copy,
 *   dst[dst_off + sum_k idx_k * ds_k] = src[src_off + sum_k idx_k * ss_k]   for idx in shape (<= 8 axes).
 * Codegen writes each view as such a copy (patchify is the 8-axis gather
 *   y[b, (t*Hn + h)*Wn + w, ((c*pt + i)*ph + j)*pw + k] = x[b, c, t*pt + i, h*ph + j, w*pw + k]).
 * Views are materialized for now; aliasing them in the plan (no copy) is future work.
 */
#pragma once
#include "common.cuh"  // defines: parallel_for

namespace mc {

struct Strided {
  int rank;
  i64 shape[8], ss[8], ds[8];
  i64 src_off, dst_off;
};

template <class T>
void strided_copy(Stream s, const T* src, T* dst, Strided c) {
  i64 n = 1;
  for (int k = 0; k < c.rank; k++) n *= c.shape[k];
  parallel_for(s, n, [=] MC_HD(i64 i) {
    i64 si = c.src_off, di = c.dst_off, rest = i;
    for (int k = c.rank - 1; k >= 0; k--) {
      i64 idx = rest % c.shape[k];
      rest /= c.shape[k];
      si += idx * c.ss[k];
      di += idx * c.ds[k];
    }
    dst[di] = src[si];
  });
}

}  // namespace mc
