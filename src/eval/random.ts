// Seeded random weights and inputs for any spec, so every model can run without a checkpoint.
// The generator is counter based (a 32-bit integer hash of (tensor key, element index)), so each
// tensor's values depend only on the seed, its name and the element index: not on generation order.
// runtime-cuda/random.cuh implements the same hash, so `DIR/model --random-weights SEED` draws the
// same numbers as `mc weights --random SEED` (up to the last ulp of log/cos before rounding).
//
// Weights: rank >= 2 (linear, conv, embedding): N(0, 1/fan_in) with fan_in = prod(shape[1:]);
// the weight of a norm is 1 and its bias 0; other biases N(0, 0.02^2).
// Inputs: float tensors N(0, 1), except fp32 vectors [B] (timesteps, guidance): uniform in [0, 1000];
// ids: uniform in [0, vocab) of the embedding that reads them (else [0, 100)); bool masks: the first
// 3/4 of the last axis true (at least one), the rest false, so padding is exercised; i32 `segments`
// of an attention: cumulative offsets [b*L, b*L + L - pad_b, (b+1)*L] per sample, where pad_b is the
// number of false entries of the first bool input's row b (padding sits at the end of the sequence).
import type { Graph, Tensor } from '../ir/types.js';
// One generator for mc and the self-contained launcher: it lives in the launcher's helpers.
import { hash32, nameHash, uniform } from '../launcher/runtime-io.js';
import { roundTo, type TensorData } from '../safetensors/index.js';

export { hash32, nameHash, uniform };

export const tensorKey = (seed: number, name: string): number => hash32(nameHash(name) ^ hash32(seed >>> 0));
export const normal = (key: number, i: number): number =>
  Math.sqrt(-2 * Math.log(uniform(key, i, 0))) * Math.cos(2 * Math.PI * uniform(key, i, 1));

const NORMS = new Set(['layernorm', 'rmsnorm', 'groupnorm']);

/** How each weight is initialized: 'one', 'zero', or a normal with this standard deviation. */
export function weightInit(g: Graph, t: Tensor): 'one' | 'zero' | number {
  const user = g.ops.find((o) => o.inputs.includes(t.id));
  if (user && NORMS.has(user.kind)) return t.name.endsWith('bias') ? 'zero' : 'one';
  if (t.shape.length >= 2) return 1 / Math.sqrt(t.shape.slice(1).reduce((a, b) => a * b, 1));
  return 0.02;
}

function fill(t: Tensor, f: (i: number) => number): TensorData {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = roundTo(t.dtype, f(i));
  return { dtype: t.dtype, shape: t.shape, data };
}

export function randomWeights(g: Graph, seed: number): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  for (const t of g.tensors) {
    if (t.kind !== 'weight' || out.has(t.name)) continue;
    const init = weightInit(g, t);
    const key = tensorKey(seed, t.name);
    out.set(t.name, fill(t, (i) => (init === 'one' ? 1 : init === 'zero' ? 0 : init * normal(key, i))));
  }
  return out;
}

export function randomInputs(g: Graph, seed: number): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  const inputs = g.inputs.map((id) => g.tensors[id]);
  // Masks first: segments depend on them.
  const ordered = [...inputs.filter((t) => t.dtype === 'bool'), ...inputs.filter((t) => t.dtype !== 'bool')];
  for (const t of ordered) {
    const key = tensorKey(seed, t.name);
    const users = g.ops.filter((o) => o.inputs.includes(t.id));
    if (t.dtype === 'bool') {
      const last = t.shape[t.shape.length - 1] ?? 1;
      const valid = Math.max(1, Math.ceil((3 * last) / 4));
      out.set(t.name, fill(t, (i) => (i % last < valid ? 1 : 0)));
    } else if (t.dtype === 'i32' || t.dtype === 'i64') {
      const att = users.find((o) => o.kind === 'attention' && o.attrs.varlen && o.inputs[o.inputs.length - 1] === t.id);
      if (att && t.shape.length === 1) {
        const L = g.tensors[att.inputs[0]].shape[1];
        const B = (t.shape[0] - 1) / 2;
        const mask = out.get(inputs.find((x) => x.dtype === 'bool')?.name ?? '');
        const pad = (b: number): number => {
          if (!mask) return 0;
          const row = mask.shape[mask.shape.length - 1];
          let p = 0;
          for (let i = 0; i < row; i++) if (!mask.data[b * row + i]) p++;
          return Math.min(p, L - 1);
        };
        const cu = [0];
        for (let b = 0; b < B; b++) cu.push(b * L + L - pad(b), (b + 1) * L);
        out.set(t.name, fill(t, (i) => cu[Math.min(i, cu.length - 1)]));
      } else {
        const emb = users.find((o) => o.kind === 'embedding');
        const vocab = emb ? g.tensors[emb.inputs[1]].shape[0] : 100;
        out.set(t.name, fill(t, (i) => Math.min(vocab - 1, Math.floor(uniform(key, i, 0) * vocab))));
      }
    } else if (t.dtype === 'fp32' && t.shape.length === 1) {
      out.set(t.name, fill(t, (i) => 1000 * uniform(key, i, 0)));
    } else {
      out.set(t.name, fill(t, (i) => normal(key, i)));
    }
  }
  return new Map(inputs.map((t) => [t.name, out.get(t.name)!]));
}
