// The reference interpreter's three largest ops (attention, rope, conv3d), kept apart from the
// op dispatch in interp.ts. Same conventions: fp64 math over row-major buffers, one rounding by
// the caller, the exact math in each comment.
import type { Op, Tensor } from '../ir/types.js';
import { type Buf, EvalError, numel, stridesOf } from './interp.js';

/**
 * softmax(q k^T / sqrt(D)) v per (batch, query head), over the visible keys only:
 *   causal: key j <= query i;  frame f: floor(j / f) <= floor(i / f);  mask [B, Lk]: mask[b, j];
 *   segments (cumulative offsets over the packed batch, token b*L + i): same segment as the query.
 * Query head h reads key/value head h / (Hq / Hkv) (GQA). A query with no visible key gives 0.
 */
export function attention(op: Op, ins: readonly Buf[], ts: readonly Tensor[]): Buf {
  const [q, k, v] = ins;
  const [B, Lq, Hq, D] = ts[0].shape;
  const [, Lk, Hkv] = ts[1].shape;
  let next = 3;
  const mask = op.attrs.masked ? ins[next++] : undefined;
  const seg = op.attrs.varlen ? ins[next++] : undefined;
  if (seg) {
    // Offsets into the packed batch: non-decreasing, within [0, B x Lk] (tokens outside every
    // segment are allowed and see only themselves; an offset out of order or range is an input error).
    const bad = Array.from(seg).findIndex((x, s) => x < 0 || x > B * Lk || (s > 0 && x < seg[s - 1]));
    if (bad >= 0) throw new EvalError(`attention: segment offsets must be non-decreasing within [0, ${B * Lk}], got [${Array.from(seg).join(', ')}] (entry ${bad}); check the cu_seqlens input`);
  }
  const segOf = (g: number): number => {
    if (!seg) return 0;
    for (let s = 0; s + 1 < seg.length; s++) if (g >= seg[s] && g < seg[s + 1]) return s;
    return -1 - g; // outside every segment: sees only itself
  };
  const causal = op.attrs.causal as boolean;
  const frame = op.attrs.frame as number;
  const scale = 1 / Math.sqrt(D);
  const y = new Float64Array(B * Lq * Hq * D);
  const p = new Float64Array(Lk);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / (Hq / Hkv));
      for (let i = 0; i < Lq; i++) {
        const qs = segOf(b * Lq + i);
        let mx = -Infinity;
        for (let j = 0; j < Lk; j++) {
          const visible = (!causal || j <= i) && (frame <= 0 || Math.floor(j / frame) <= Math.floor(i / frame))
            && (!mask || mask[b * Lk + j] !== 0) && (!seg || segOf(b * Lk + j) === qs);
          if (!visible) { p[j] = -Infinity; continue; }
          let s = 0;
          for (let d = 0; d < D; d++) s += q[((b * Lq + i) * Hq + h) * D + d] * k[((b * Lk + j) * Hkv + hk) * D + d];
          p[j] = s * scale;
          if (p[j] > mx) mx = p[j];
        }
        if (mx === -Infinity) continue;
        let den = 0;
        for (let j = 0; j < Lk; j++) { p[j] = p[j] === -Infinity ? 0 : Math.exp(p[j] - mx); den += p[j]; }
        for (let d = 0; d < D; d++) {
          let s = 0;
          for (let j = 0; j < Lk; j++) if (p[j] !== 0) s += p[j] * v[((b * Lk + j) * Hkv + hk) * D + d];
          y[((b * Lq + i) * Hq + h) * D + d] = s / den;
        }
      }
    }
  return y;
}

/**
 * Rotary embedding on x [B, L, H, D]. Token l has grid coordinates (row-major in `grid`); axis a
 * owns head-dim slice [off_a, off_a + d_a) and rotates pairs j < d_a/2 by angle pos_a * theta^(-2j/d_a):
 * interleaved pairs are (off_a + 2j, off_a + 2j + 1), otherwise (off_a + j, off_a + j + d_a/2);
 *   y0 = x0 cos - x1 sin,  y1 = x1 cos + x0 sin.
 */
export function rope(op: Op, x: Buf, xs: readonly number[]): Buf {
  const [B, L, H, D] = xs;
  const grid = op.attrs.grid as number[];
  const axes = op.attrs.axes as number[];
  const theta = op.attrs.theta as number;
  const inter = op.attrs.interleaved as boolean;
  const y = Float64Array.from(x);
  const gst = stridesOf(grid);
  for (let l = 0; l < L; l++) {
    let off = 0;
    for (let ax = 0; ax < axes.length; ax++) {
      const pos = Math.floor(l / gst[ax]) % grid[ax];
      const da = axes[ax];
      for (let j = 0; j < da / 2; j++) {
        const ang = pos * Math.pow(theta, (-2 * j) / da);
        const [c, s] = [Math.cos(ang), Math.sin(ang)];
        const [i0, i1] = inter ? [off + 2 * j, off + 2 * j + 1] : [off + j, off + j + da / 2];
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++) {
            const base = ((b * L + l) * H + h) * D;
            const [x0, x1] = [x[base + i0], x[base + i1]];
            y[base + i0] = x0 * c - x1 * s;
            y[base + i1] = x1 * c + x0 * s;
          }
      }
      off += da;
    }
  }
  return y;
}

/**
 * y[b, o, t, h, w] = bias[o] + sum_{c, dt, dh, dw} W[o, c, dt, dh, dw] * xp[b, c, t*st + dt, h*sh + dh, w*sw + dw]
 * where xp is x padded: causal replicates edges (time: k_t - 1 frames in front; space: k//2 each
 * side, i.e. the index is clamped into range); non-causal pads pad/2 zeros on each side.
 */
export function conv3d(op: Op, ins: readonly Buf[], ts: readonly Tensor[], out: Tensor): Buf {
  const [x, w] = ins;
  const bias = op.attrs.bias ? ins[2] : undefined;
  const [B, Ci, T, H, W] = ts[0].shape;
  const [, Co, To, Ho, Wo] = out.shape;
  const k = op.attrs.kernel as number[];
  const s = op.attrs.stride as number[];
  const pad = op.attrs.pad as number[];
  const causal = op.attrs.causal as boolean;
  const front = causal ? [k[0] - 1, Math.floor(k[1] / 2), Math.floor(k[2] / 2)] : pad.map((p) => p / 2);
  const dims = [T, H, W];
  const src = (ax: number, p: number): number => {
    const i = p - front[ax];
    if (causal) return Math.min(Math.max(i, 0), dims[ax] - 1);
    return i >= 0 && i < dims[ax] ? i : -1;
  };
  const y = new Float64Array(numel(out.shape));
  for (let b = 0; b < B; b++)
    for (let o = 0; o < Co; o++)
      for (let t = 0; t < To; t++)
        for (let h = 0; h < Ho; h++)
          for (let ww = 0; ww < Wo; ww++) {
            let acc = bias ? bias[o] : 0;
            for (let dt = 0; dt < k[0]; dt++) {
              const it = src(0, t * s[0] + dt);
              if (it < 0) continue;
              for (let dh = 0; dh < k[1]; dh++) {
                const ih = src(1, h * s[1] + dh);
                if (ih < 0) continue;
                for (let dw = 0; dw < k[2]; dw++) {
                  const iw = src(2, ww * s[2] + dw);
                  if (iw < 0) continue;
                  for (let c = 0; c < Ci; c++)
                    acc += w[(((o * Ci + c) * k[0] + dt) * k[1] + dh) * k[2] + dw] * x[(((b * Ci + c) * T + it) * H + ih) * W + iw];
                }
              }
            }
            y[(((b * Co + o) * To + t) * Ho + h) * Wo + ww] = acc;
          }
  return y;
}
