/*
 * norms.cuh: normalizations, statistics in acc_t (fp32 on the GPU, fp64 on the CPU), one rounding.
 *   layernorm: y = (x - mean) * rstd * w + b,  rstd = 1/sqrt(var + eps), biased var over the last axis C
 *              (w, b null: no affine)
 *   rmsnorm:   y = x * rstd * w,  rstd = 1/sqrt(mean(x^2) + eps)
 *   groupnorm: x (B, C, S): per (b, group of C/G channels) over C/G * S values, y = (x - mean) * rstd * w[c] + b[c]
 * One row (group) per index: two passes (mean, then centered variance) for accuracy.
 * Not here yet: a block-per-row GPU kernel with warp reductions (these are memory-bound and simple).
 */
#pragma once
#include "common.cuh"  // defines: parallel_for, ld, st

namespace mc {

template <class T, class W>
void layernorm(Stream s, const T* x, const W* w, const W* b, T* y, i64 R, i64 C, double eps, bool rms) {
  parallel_for(s, R, [=] MC_HD(i64 r) {
    const T* xr = x + r * C;
    acc_t mean = 0, var = 0;
    if (!rms) { for (i64 c = 0; c < C; c++) mean += ld(xr[c]); mean /= C; }
    for (i64 c = 0; c < C; c++) { acc_t d = ld(xr[c]) - mean; var += d * d; }
    acc_t rstd = 1 / sqrt(var / C + (acc_t)eps);
    for (i64 c = 0; c < C; c++) {
      acc_t o = (ld(xr[c]) - mean) * rstd;
      if (w) o *= ld(w[c]);
      if (b) o += ld(b[c]);
      st(y[r * C + c], o);
    }
  });
}

template <class T, class W>
void groupnorm(Stream s, const T* x, const W* w, const W* b, T* y, i64 B, i64 C, i64 S, i64 G, double eps) {
  const i64 cg = C / G;
  parallel_for(s, B * G, [=] MC_HD(i64 bg) {
    i64 g = bg % G, base = bg * cg * S, n = cg * S;  // (b*C + g*cg) * S == bg * cg * S
    acc_t mean = 0, var = 0;
    for (i64 i = 0; i < n; i++) mean += ld(x[base + i]);
    mean /= n;
    for (i64 i = 0; i < n; i++) { acc_t d = ld(x[base + i]) - mean; var += d * d; }
    acc_t rstd = 1 / sqrt(var / n + (acc_t)eps);
    for (i64 i = 0; i < n; i++) {
      i64 c = g * cg + i / S;
      acc_t o = (ld(x[base + i]) - mean) * rstd;
      if (w) o = o * ld(w[c]) + ld(b[c]);
      st(y[base + i], o);
    }
  });
}

}  // namespace mc
