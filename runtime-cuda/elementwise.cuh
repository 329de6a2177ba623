/*
 * elementwise.cuh: pointwise ops, math in acc_t, one rounding per output.
 *   binary (add/sub/mul) with numpy broadcasting: y[idx] = a[idx . sa] op b[idx . sb], where sa, sb are
 *     strides with 0 on broadcast axes (codegen computes them; up to 8 axes);
 *   silu: x / (1 + exp(-x));   gelu tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)));  gelu erf: 0.5 x (1 + erf(x / sqrt 2))
 *   gelu quick (CLIP's quick_gelu): x / (1 + exp(-1.702 x))
 *   modulate (adaLN): y = x * (1 + scale[b, c]) + shift[b, c];   gate: y = x * g[b, c]
 *     x (B, ..., C) with `per` = numel / B elements per sample, vectors (B, C)
 *   cast: y = convert(x) (float -> int truncates, -> bool is x != 0)
 */
#pragma once
#include "common.cuh"  // defines: parallel_for, ld, st

namespace mc {

struct Bcast {
  int rank;
  i64 shape[8], sa[8], sb[8];
};

enum BinOp { OP_ADD = 0, OP_SUB = 1, OP_MUL = 2 };

template <class T>
void binary(Stream s, const T* a, const T* b, T* y, i64 n, Bcast bc, int op) {
  parallel_for(s, n, [=] MC_HD(i64 i) {
    i64 ia = 0, ib = 0, rest = i;
    for (int k = bc.rank - 1; k >= 0; k--) {
      i64 idx = rest % bc.shape[k];
      rest /= bc.shape[k];
      ia += idx * bc.sa[k];
      ib += idx * bc.sb[k];
    }
    acc_t u = ld(a[ia]), v = ld(b[ib]);
    st(y[i], op == OP_ADD ? u + v : op == OP_SUB ? u - v : u * v);
  });
}

enum UnOp { OP_SILU = 0, OP_GELU_TANH = 1, OP_GELU_ERF = 2, OP_GELU_QUICK = 3 };

template <class T>
void unary(Stream s, const T* x, T* y, i64 n, int op) {
  parallel_for(s, n, [=] MC_HD(i64 i) {
    acc_t v = ld(x[i]), r;
    if (op == OP_SILU) r = v / (1 + exp(-v));
    else if (op == OP_GELU_TANH) r = (acc_t)0.5 * v * (1 + tanh((acc_t)0.7978845608028654 * (v + (acc_t)0.044715 * v * v * v)));
    else if (op == OP_GELU_QUICK) r = v / (1 + exp((acc_t)-1.702 * v));
    else r = (acc_t)0.5 * v * (1 + erf(v * (acc_t)0.7071067811865476));
    st(y[i], r);
  });
}

template <class T>
void modulate(Stream s, const T* x, const T* shift, const T* scale, T* y, i64 n, i64 per, i64 C) {
  parallel_for(s, n, [=] MC_HD(i64 i) {
    i64 j = (i / per) * C + i % C;
    st(y[i], ld(x[i]) * (1 + ld(scale[j])) + ld(shift[j]));
  });
}

template <class T>
void gate(Stream s, const T* x, const T* g, T* y, i64 n, i64 per, i64 C) {
  parallel_for(s, n, [=] MC_HD(i64 i) { st(y[i], ld(x[i]) * ld(g[(i / per) * C + i % C])); });
}

template <class S, class D>
void cast(Stream s, const S* x, D* y, i64 n) {
  parallel_for(s, n, [=] MC_HD(i64 i) { st(y[i], ld(x[i])); });
}

}  // namespace mc
