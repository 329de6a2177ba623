/*
 * rope.cuh: rotary position embedding on x (B, L, H, D), 1D or 3D.
 * Token l has coordinates pos_a on a row-major grid (up to 3 axes; HunyuanVideo: (T, h, w) with the
 * head dim split [16 | 56 | 56]). Axis a owns dims [off_a, off_a + d_a) and rotates pair j < d_a/2
 * by angle = pos_a * theta^(-2j / d_a):
 *   interleaved pairs (off_a + 2j, off_a + 2j + 1), else halves (off_a + j, off_a + j + d_a/2);
 *   y0 = x0 cos - x1 sin,  y1 = x1 cos + x0 sin   (math in acc_t, rounded once).
 * One (b, l, h, pair) per index.
 */
#pragma once
#include "common.cuh"  // defines: parallel_for, ld, st

namespace mc {

struct RopeArgs {
  i64 B, L, H, D;
  int naxes;
  i64 grid[3], axes[3];
  double theta;
  bool interleaved;
};

template <class T>
void rope(Stream s, const T* x, T* y, RopeArgs a) {
  const i64 pairs = a.D / 2;
  parallel_for(s, a.B * a.L * a.H * pairs, [=] MC_HD(i64 i) {
    i64 p = i % pairs, row = i / pairs, l = (row / a.H) % a.L;
    // Which axis owns pair p, and its coordinate: pos_a = (l / stride_a) % grid_a.
    i64 off = 0, stride = 1;
    for (int ax = a.naxes - 1; ax >= 0; ax--) stride *= a.grid[ax];
    for (int ax = 0; ax < a.naxes; ax++) {
      stride /= a.grid[ax];
      i64 da = a.axes[ax];
      if (p < off / 2 + da / 2) {
        i64 j = p - off / 2, pos = (l / stride) % a.grid[ax];
        acc_t ang = (acc_t)pos * pow((acc_t)a.theta, (acc_t)(-2.0 * j / da));
        acc_t c = cos(ang), sn = sin(ang);
        i64 i0 = a.interleaved ? off + 2 * j : off + j, i1 = a.interleaved ? off + 2 * j + 1 : off + j + da / 2;
        acc_t x0 = ld(x[row * a.D + i0]), x1 = ld(x[row * a.D + i1]);
        st(y[row * a.D + i0], x0 * c - x1 * sn);
        st(y[row * a.D + i1], x1 * c + x0 * sn);
        return;
      }
      off += da;
    }
  });
}

}  // namespace mc
