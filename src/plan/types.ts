// Shared types of the planner (src/plan/): parallel layout, options, and the plan it returns.
// Every size is bytes per GPU and every time is seconds unless a name says otherwise.

export type Strategy = 'none' | 'full-recompute' | 'selective' | 'memo';
export const STRATEGIES: readonly Strategy[] = ['none', 'selective', 'full-recompute', 'memo'];

export interface Parallel {
  readonly tp: number; // Megatron tensor parallel
  readonly sp: boolean; // Megatron sequence parallel (with tp > 1)
  readonly ulysses: number; // DeepSpeed-Ulysses all-to-all sequence parallel
  readonly cp: number; // ring attention context parallel
  readonly dp: number; // data parallel replicas
  readonly zero: 0 | 1 | 2 | 3;
}

export interface Breakdown {
  weights: number;
  gradients: number;
  optimizer: number;
  skeletal: number;
  transient: number;
  swapBuffers: number;
  workspace: number;
}

export type StreamEntry = [op: string, startSec: number, endSec: number];

export interface LayerRow {
  readonly name: string;
  readonly kind: string;
  /** What the plan does with this layer's skeletal set: keep | recompute | selective | memo. */
  readonly action: string;
  readonly skeletalBytes: number;
  readonly forwardTimeSec: number;
  readonly backwardTimeSec: number;
  readonly attentionTimeSec: number;
  /** D2H time of the layer's full skeletal set (MEMO's crossover quantity). */
  readonly offloadTimeSec: number;
  readonly alpha: number | null;
  /** Bytes this plan copies to the host for the layer (0 unless memo). */
  readonly offloadBytes: number;
  readonly exposedCopySec: number;
  readonly hidden: boolean | null;
}

export interface StrategyPlan {
  readonly strategy: Strategy;
  readonly fits: boolean;
  readonly peakBytes: number;
  readonly breakdown: Breakdown;
  readonly stepTimeSec: number;
  readonly cpuBytesPerNode: number;
  readonly cpuFits: boolean;
  readonly alpha: Readonly<Record<string, number>> | null;
  readonly layers: readonly LayerRow[];
  readonly schedule: Readonly<Record<string, readonly StreamEntry[]>>;
  readonly recomputeSec: number;
  readonly exposedCopySec: number;
  readonly exposedCommSec: number;
  /** Why a fallback was taken, what did not hide, ... (one line each). */
  readonly notes: readonly string[];
}
