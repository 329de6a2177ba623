// Hardware profiles: hardware/*.yaml, validated against schemas/hardware.schema.json with ajv.
// A profile is plain data (peak FLOP/s, memory, link bandwidths, efficiency factors), each number
// with a source comment in its YAML file. `--calibration file.yaml` overlays measured values: it
// has the same shape with every field optional. Errors are one line naming the field, so the CLI
// can print them as usage errors.
import { readFileSync, existsSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';

export interface HardwareProfile {
  readonly name: string;
  readonly gpu: { readonly peakFlops: number; readonly memoryBytes: number; readonly memoryBytesPerSec: number; readonly reservedBytes?: number };
  readonly nvlink: { readonly bytesPerSecPerDirection: number; readonly efficiency: number; readonly latencySec: number };
  readonly pcie: { readonly oneGpuBytesPerSec: number; readonly allGpusBytesPerSec: number; readonly bidirectionalBytesPerSec: number };
  readonly node: { readonly gpusPerNode: number; readonly cpuMemoryBytes: number; readonly interNodeBytesPerSec: number };
  readonly efficiency: { readonly gemm: number; readonly attentionForward: number; readonly attentionBackward: number; readonly memory: number };
}

/** A bad profile or calibration file; the message is one line naming the file and the field. */
export class ProfileError extends Error {}

// Resolved from this module so it works from src/ (ts-jest) and dist/ alike: both are one level
// below the repository root.
const ROOT = new URL('../../', import.meta.url);
export const HARDWARE_DIR = new URL('hardware/', ROOT);
const SCHEMA_PATH = new URL('schemas/hardware.schema.json', ROOT);

type Schema = Record<string, unknown>;
let cached: { profile: (x: unknown) => boolean; calibration: (x: unknown) => boolean; errors: () => ErrorObject[] | null | undefined } | undefined;

/** The calibration schema is the profile schema with nothing required. */
function relax(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(relax);
  if (typeof s !== 'object' || s === null) return s;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) if (k !== 'required' && k !== '$id') out[k] = relax(v);
  return out;
}

function validators(): NonNullable<typeof cached> {
  if (cached) return cached;
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Schema;
  const ajv = new Ajv({ allErrors: false, strict: false });
  const profile = ajv.compile(schema);
  const calibration = ajv.compile(relax(schema) as Schema);
  let last: ErrorObject[] | null | undefined;
  cached = {
    profile: (x) => { const ok = profile(x); last = profile.errors; return ok; },
    calibration: (x) => { const ok = calibration(x); last = calibration.errors; return ok; },
    errors: () => last,
  };
  return cached;
}

function describe(e: ErrorObject): string {
  const field = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replace(/\//g, '.');
  if (e.keyword === 'required') return `${field === '(top level)' ? '' : field + '.'}${(e.params as { missingProperty: string }).missingProperty} is missing`;
  if (e.keyword === 'additionalProperties') return `${field === '(top level)' ? '' : field + '.'}${(e.params as { additionalProperty: string }).additionalProperty} is not a known field`;
  return `${field} ${e.message ?? 'is invalid'}`;
}

function parseFile(text: string, source: string): unknown {
  try {
    return parseYaml(text);
  } catch (e) {
    throw new ProfileError(`${source}: not valid YAML (${String((e as Error).message).split('\n')[0]})`);
  }
}

/** Parses and validates a profile's YAML text (pure: no I/O beyond the cached schema). */
export function parseProfile(text: string, source: string): HardwareProfile {
  const v = validators();
  const data = parseFile(text, source);
  if (!v.profile(data)) throw new ProfileError(`hardware profile ${source}: ${describe(v.errors()![0])}`);
  return data as HardwareProfile;
}

/** Overlays a calibration file's measured values on a profile. */
export function applyCalibration(p: HardwareProfile, text: string, source: string): HardwareProfile {
  const v = validators();
  const data = parseFile(text, source) ?? {};
  if (!v.calibration(data)) throw new ProfileError(`calibration ${source}: ${describe(v.errors()![0])}`);
  const c = data as Partial<Record<keyof HardwareProfile, object>>;
  return {
    name: p.name,
    gpu: { ...p.gpu, ...c.gpu },
    nvlink: { ...p.nvlink, ...c.nvlink },
    pcie: { ...p.pcie, ...c.pcie },
    node: { ...p.node, ...c.node },
    efficiency: { ...p.efficiency, ...c.efficiency },
  };
}

/** Names of the bundled profiles (hardware/NAME.yaml). */
export function bundledProfiles(): string[] {
  return ['a800', 'a100-80g', 'h100-sxm', 'h200'];
}

/** `--hw NAME` (a bundled profile) or `--hw path.yaml`; `--calibration file.yaml` optional. */
export function loadProfile(nameOrPath: string, calibrationPath?: string): HardwareProfile {
  const isPath = /[/\\]|\.ya?ml$/i.test(nameOrPath);
  const url = isPath ? nameOrPath : new URL(`${nameOrPath}.yaml`, HARDWARE_DIR);
  if (!isPath && !existsSync(url)) throw new ProfileError(`unknown hardware '${nameOrPath}'; bundled: ${bundledProfiles().join(', ')} (or pass a .yaml file)`);
  let p = parseProfile(readText(url, 'hardware profile'), isPath ? nameOrPath : `${nameOrPath}.yaml`);
  if (calibrationPath !== undefined) p = applyCalibration(p, readText(calibrationPath, 'calibration'), calibrationPath);
  return p;
}

function readText(f: string | URL, what: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch (e) {
    throw new ProfileError(`cannot read ${what} '${String(f)}' (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
