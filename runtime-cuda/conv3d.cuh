/*
 * conv3d.cuh: 3D convolution and nearest upsampling on (B, C, T, H, W).
 *   conv3d: y[b, o, t, h, w] = bias[o] + sum_{c, dt, dh, dw} W[o, c, dt, dh, dw] * xp[b, c, t*st + dt, h*sh + dh, w*sw + dw]
 *     causal (HunyuanVideo CausalConv3d): xp replicates edges, front pad (k_t - 1, k_h/2, k_w/2), i.e.
 *     the source index is clamped into range; otherwise zero padding of front[a] on each side.
 *   upsample: y[b, c, t, h, w] = x[b, c, src_t, h / fh, w / fw]; causal: src_t = 0 for t = 0, else
 *     1 + (t - 1) / ft (frame 0 is upsampled in space only); otherwise src_t = t / ft.
 * conv3d_direct: one output element per index (parallel_for). It is the CPU backend, the reference,
 * and the GPU path for fp32 storage and for MC_CONV=direct.
 * GPU, bf16 / fp16 storage: conv3d_igemm (conv3d_igemm.cuh), an implicit GEMM on tensor cores
 * (M = output positions, N = Co, K = Ci * kt * kh * kw; im2col is gathered into shared memory on the
 * fly, never materialized). MC_CONV=direct (read once; conv_mode() is writable for tests) forces the
 * direct kernel, so a run can compare the two.
 */
#pragma once
#include "common.cuh"  // defines: parallel_for, ld, st

namespace mc {

struct ConvArgs {
  i64 B, Ci, T, H, W, Co, To, Ho, Wo;
  i64 k[3], s[3], front[3];
  bool causal;
};

template <class T>
void conv3d_direct(Stream s, const T* x, const T* w, const T* bias, T* y, ConvArgs a) {
  parallel_for(s, a.B * a.Co * a.To * a.Ho * a.Wo, [=] MC_HD(i64 i) {
    i64 ow = i % a.Wo, oh = (i / a.Wo) % a.Ho, ot = (i / (a.Wo * a.Ho)) % a.To;
    i64 o = (i / (a.Wo * a.Ho * a.To)) % a.Co, b = i / (a.Wo * a.Ho * a.To * a.Co);
    const i64 dims[3] = {a.T, a.H, a.W};
    acc_t acc = bias ? ld(bias[o]) : 0;
    for (i64 dt = 0; dt < a.k[0]; dt++) {
      i64 it = ot * a.s[0] + dt - a.front[0];
      if (a.causal) it = it < 0 ? 0 : it >= dims[0] ? dims[0] - 1 : it;
      else if (it < 0 || it >= dims[0]) continue;
      for (i64 dh = 0; dh < a.k[1]; dh++) {
        i64 ih = oh * a.s[1] + dh - a.front[1];
        if (a.causal) ih = ih < 0 ? 0 : ih >= dims[1] ? dims[1] - 1 : ih;
        else if (ih < 0 || ih >= dims[1]) continue;
        for (i64 dw = 0; dw < a.k[2]; dw++) {
          i64 iw = ow * a.s[2] + dw - a.front[2];
          if (a.causal) iw = iw < 0 ? 0 : iw >= dims[2] ? dims[2] - 1 : iw;
          else if (iw < 0 || iw >= dims[2]) continue;
          for (i64 c = 0; c < a.Ci; c++)
            acc += ld(w[(((o * a.Ci + c) * a.k[0] + dt) * a.k[1] + dh) * a.k[2] + dw]) *
                   ld(x[(((b * a.Ci + c) * a.T + it) * a.H + ih) * a.W + iw]);
        }
      }
    }
    st(y[i], acc);
  });
}

}  // namespace mc

#ifdef __CUDACC__
#include <type_traits>          // defines: std::is_same
#include "conv3d_igemm.cuh"     // defines: conv3d_igemm, conv_mode (needs ConvArgs, above)
#endif

namespace mc {

template <class T>
void conv3d(Stream s, const T* x, const T* w, const T* bias, T* y, ConvArgs a) {
#ifdef __CUDACC__
  // 16-bit storage: tensor cores unless MC_CONV=direct; false = not applicable (shape limits, or the
  // kernel was built for an arch below sm_80), then the direct kernel below.
  if constexpr (std::is_same<T, bf16>::value || std::is_same<T, fp16>::value)
    if (conv_mode() == 0 && conv3d_igemm(s, x, w, bias, y, a)) return;
#endif
  conv3d_direct(s, x, w, bias, y, a);
}

template <class T>
void upsample(Stream s, const T* x, T* y, i64 BC, i64 T_, i64 H, i64 W, i64 To, i64 Ho, i64 Wo, i64 ft, i64 fh, i64 fw, bool causal) {
  parallel_for(s, BC * To * Ho * Wo, [=] MC_HD(i64 i) {
    i64 w = i % Wo, h = (i / Wo) % Ho, t = (i / (Wo * Ho)) % To, bc = i / (Wo * Ho * To);
    i64 src_t = causal ? (t == 0 ? 0 : 1 + (t - 1) / ft) : t / ft;
    y[i] = x[((bc * T_ + src_t) * H + h / fh) * W + w / fw];
  });
}

}  // namespace mc
