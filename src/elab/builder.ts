// Accumulates tensors, ops and layers while the elaborator walks the model, then freezes them
// into an immutable Graph. Only the elaborator uses it.
import type { Span } from '../diag/source.js';
import { type AttrValue, type DType, type Graph, type Layer, type Op, type Tensor, type TensorKind, freezeGraph } from '../ir/types.js';

interface MutableLayer { id: number; name: string; kind: string; ops: number[]; loose: boolean }

export class GraphBuilder {
  readonly tensors: Tensor[] = [];
  readonly ops: Op[] = [];
  private readonly layers: MutableLayer[] = [];
  private readonly weights = new Map<string, number>();
  private readonly inputs: number[] = [];
  private readonly outputs: number[] = [];
  private current: MutableLayer | undefined;

  addTensor(name: string, shape: readonly number[], dtype: DType, kind: TensorKind, origin: Span, producer?: number): number {
    const id = this.tensors.length;
    this.tensors.push({ id, name, shape: [...shape], dtype, kind, producer, origin });
    return id;
  }

  weight(name: string): Tensor | undefined {
    const id = this.weights.get(name);
    return id === undefined ? undefined : this.tensors[id];
  }

  addWeight(name: string, shape: readonly number[], dtype: DType, origin: Span): number {
    const id = this.addTensor(name, shape, dtype, 'weight', origin);
    this.weights.set(name, id);
    return id;
  }

  addInput(name: string, shape: readonly number[], dtype: DType, origin: Span): number {
    const id = this.addTensor(name, shape, dtype, 'input', origin);
    this.inputs.push(id);
    return id;
  }

  markOutput(id: number, name: string): void {
    const t = this.tensors[id];
    if (t.kind === 'activation') this.tensors[id] = { ...t, kind: 'output', name };
    this.outputs.push(id);
  }

  /** Renames an activation to the variable it was assigned to (for readable IR dumps). */
  nameActivation(id: number, name: string): void {
    const t = this.tensors[id];
    if (t.kind === 'activation') this.tensors[id] = { ...t, name };
  }

  /** Opens a layer for one top-level block instance; ops go there until endLayer(). */
  beginLayer(name: string, kind: string): void {
    this.current = { id: this.layers.length, name, kind, ops: [], loose: false };
    this.layers.push(this.current);
  }

  endLayer(): void {
    this.current = undefined;
  }

  addOp(kind: string, inputs: number[], outputs: { name: string; shape: readonly number[]; dtype: DType }[],
    attrs: Record<string, AttrValue>, origin: Span): number[] {
    if (!this.current) {
      // Model-level ops outside any block: consecutive ones share one layer.
      const last = this.layers[this.layers.length - 1];
      this.current = last?.loose ? last : { id: this.layers.length, name: '', kind: 'ops', ops: [], loose: true };
      if (this.current !== last) this.layers.push(this.current);
    }
    const opId = this.ops.length;
    const outIds = outputs.map((o) => this.addTensor(o.name, o.shape, o.dtype, 'activation', origin, opId));
    this.ops.push({ id: opId, kind, inputs, outputs: outIds, attrs, layer: this.current.id, origin });
    this.current.ops.push(opId);
    if (this.current.loose) this.current = undefined;
    return outIds;
  }

  get opCount(): number {
    return this.ops.length;
  }

  build(model: string, dims: Record<string, number>, looseName: (l: { ops: readonly number[] }) => string): Graph {
    const layers: Layer[] = this.layers
      .filter((l) => l.ops.length > 0)
      .map((l, id) => ({ id, name: l.loose ? looseName(l) : l.name, kind: l.kind, ops: l.ops }));
    // Layer ids shift when empty layers are dropped; renumber the ops' layer field to match.
    const layerOf = new Map<number, number>();
    layers.forEach((l) => l.ops.forEach((o) => layerOf.set(o, l.id)));
    const ops = this.ops.map((o) => ({ ...o, layer: layerOf.get(o.id) ?? 0 }));
    return freezeGraph({ model, dims, tensors: this.tensors, ops, layers, inputs: this.inputs, outputs: this.outputs });
  }
}
