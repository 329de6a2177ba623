// A prompt string through the whole pipeline on the CPU backend: the tiny DiT + tiny VAE of
// tests/launcher.test.ts plus tiny Llama-3 and CLIP-L text encoders (the real specs with small dims),
// synthetic byte-level tokenizers in the checkpoint layout (tokenizer/, tokenizer_2/), random weights
// in the diffusers layout, and the generated launcher run with --prompt. The embeddings it computes
// must equal `mc eval` of the two specs on the same ids, and the video must equal the run fed those
// embeddings through --prompt-embeds.
import { describe, expect, test, beforeAll } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileCommand } from '../src/cli/compile.js';
import { modelStats } from '../src/analysis/cost.js';
import { evaluate, relError } from '../src/eval/interp.js';
import { LLAMA_TEMPLATE, type PipelinePlan, ignored, loadTokenizers, main, resolveWeight, templateCrop, tokenizePrompt } from '../src/launcher/runtime.js';
import { readHfTokenizer } from '../src/launcher/runtime-tokenize.js';
import { readSafetensors, type TensorData } from '../src/safetensors/index.js';
import { loadMap } from '../src/weights/map.js';
import { writeRandomCheckpoint } from '../src/weights/diffusers.js';
import { runCommand } from './capture.js';
import { fromText, load } from './helpers.js';

const TMP = mkdtempSync(join(tmpdir(), 'mc-prompt-'));
const DIR = join(TMP, 'pipe');
const CK = join(TMP, 'ck');
const PROMPT = 'a cat walks on the grass';
const VAE_SET = ['ch1=4', 'ch2=8', 'ch3=16', 'groups=4'];
// CLIP-L with width 16 (the tiny DiT's clip_dim) and 16 positions, so a long prompt truncates.
const CLIP_SET = { seq: 16, width: 16, heads: 2, layers: 2, mlp: 32 };
// The tiny DiT reads 24 text tokens here (not its default 8), so the prompt fits with padding.
const TEXT_LEN = 24;
const sets = (o: Record<string, number>): string[] => Object.entries(o).map(([k, v]) => `${k}=${v}`);

// ---------------------------------------------------------------- synthetic tokenizers

/** GPT-2's bytes_to_unicode: the printable stand-in character of each byte. */
function byteChars(): string[] {
  const bs: number[] = [];
  for (const [a, b] of [[33, 126], [161, 172], [174, 255]]) for (let x = a; x <= b; x++) bs.push(x);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(bs.includes(b) ? b : 256 + n++);
  return out;
}

// Llama-3 style: 256 byte tokens, a few merges, the special tokens after them (as in tokenizer.json,
// where they are added_tokens, not part of model.vocab). Ids: bytes 0..255, merges, then specials.
const LLAMA_MERGES = ['Ġ t', 'h e', 'Ġt he', 'Ġ c', 'a t', 'Ġc at', 'o n', 'Ġ on', 'a n', 'an d', 'Ġ and'];
const LLAMA_SPECIALS = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'];
const LLAMA_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
function llamaTokenizer(): { json: string; vocab: number } {
  const vocab: Record<string, number> = {};
  byteChars().forEach((c, i) => { vocab[c] = i; });
  for (const m of LLAMA_MERGES) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
  const base = Object.keys(vocab).length;
  const added = LLAMA_SPECIALS.map((content, k) => ({ id: base + k, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const json = {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: { type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { Regex: LLAMA_SPLIT }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ] },
    post_processor: null, decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: LLAMA_MERGES },
  };
  return { json: JSON.stringify(json), vocab: base + added.length };
}

// CLIP style: 256 byte tokens, the same 256 ending a word (`</w>`), merges, then <|startoftext|> and
// <|endoftext|> last, so EOS is the largest id as in clip-vit-large-patch14 (49407).
const CLIP_MERGES = ['c a', 'ca t</w>', 'g r', 'a s', 'as s</w>', 'gr ass</w>'];
function clipTokenizer(): { vocabJson: string; merges: string; vocab: number } {
  const vocab: Record<string, number> = {};
  const bc = byteChars();
  bc.forEach((c, i) => { vocab[c] = i; });
  bc.forEach((c, i) => { vocab[`${c}</w>`] = 256 + i; });
  for (const m of [...CLIP_MERGES.map((x) => x.replace(' ', '')), '<|startoftext|>', '<|endoftext|>']) vocab[m] = Object.keys(vocab).length;
  return { vocabJson: JSON.stringify(vocab), merges: ['#version: 0.2', ...CLIP_MERGES, ''].join('\n'), vocab: Object.keys(vocab).length };
}

// ---------------------------------------------------------------- the build

const launch = (args: string[]) => spawnSync('node', [join(DIR, 'launcher.js'), ...args], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '2' } });
const quiet = async <T>(f: () => Promise<T>): Promise<T> => {
  const w = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try { return await f(); } finally { process.stdout.write = w; }
};
let plan: PipelinePlan;
let teSet: Record<string, number>;
let clipSet: Record<string, number>;
let teW: Map<string, TensorData>;
let clipW: Map<string, TensorData>;

beforeAll(async () => {
  const llama = llamaTokenizer();
  const clip = clipTokenizer();
  mkdirSync(join(CK, 'tokenizer'), { recursive: true });
  mkdirSync(join(CK, 'tokenizer_2'), { recursive: true });
  writeFileSync(join(CK, 'tokenizer', 'tokenizer.json'), llama.json);
  writeFileSync(join(CK, 'tokenizer_2', 'vocab.json'), clip.vocabJson);
  writeFileSync(join(CK, 'tokenizer_2', 'merges.txt'), clip.merges);
  // The LLM's length is crop_start + the DiT's text tokens; crop_start depends on the tokenizer.
  const crop = templateCrop(readHfTokenizer(llama.json, 'tokenizer.json'));
  teSet = { seq: crop + TEXT_LEN, hidden: 32, heads: 4, kv_heads: 2, ffn: 64, layers: 2, encoder_layers: 2, vocab: llama.vocab };
  clipSet = { ...CLIP_SET, vocab: clip.vocab };
  const args = ['examples/tiny/dit.mc', '--set', `text_len=${TEXT_LEN}`, '--pipeline', 'hunyuan-video', '--vae', 'examples/tiny/vae.mc', ...VAE_SET.flatMap((s) => ['--vae-set', s]), '--vae-tile', '32,16',
    '--text-encoder', 'examples/hunyuan-video/text-encoder.mc', ...sets(teSet).flatMap((s) => ['--te-set', s]),
    '--clip', 'examples/hunyuan-video/clip-text.mc', ...sets(clipSet).flatMap((s) => ['--clip-set', s]), '--backend', 'cpu', '-o', DIR];
  expect(await quiet(() => compileCommand(args))).toBe(0);
  const src = readFileSync(join(DIR, 'launcher.ts'), 'utf8');
  plan = new Function(`return (${src.slice(src.indexOf('const PLAN: Plan = ') + 19, src.indexOf('\nprocess.exitCode')).replace(/;\s*$/, '')})`)() as PipelinePlan;
  const vaeSets = Object.fromEntries(VAE_SET.map((s) => s.split('=')).map(([k, v]) => [k, Number(v)]));
  const [, , t, h, w] = plan.vae.inputs[0].shape;
  writeRandomCheckpoint(load('examples/tiny/dit.mc'), loadMap('examples/hunyuan-video/dit.diffusers.map'), 1, join(CK, 'transformer'));
  writeRandomCheckpoint(load('examples/tiny/vae.mc', { model: 'decoder', set: { ...vaeSets, frames: 1 + 4 * (t - 1), height: 8 * h, width: 8 * w } }), loadMap('examples/hunyuan-video/vae.diffusers.map'), 1, join(CK, 'vae'));
  teW = writeRandomCheckpoint(load('examples/hunyuan-video/text-encoder.mc', { model: 'text_encoder', set: teSet }), loadMap('examples/hunyuan-video/text-encoder.diffusers.map'), 2, join(CK, 'text_encoder')).spec;
  clipW = writeRandomCheckpoint(load('examples/hunyuan-video/clip-text.mc', { set: clipSet }), loadMap('examples/hunyuan-video/clip-text.diffusers.map'), 3, join(CK, 'text_encoder_2')).spec;
}, 120_000);

// ---------------------------------------------------------------- the specs and maps

describe('the text encoder specs and their checkpoint maps', () => {
  test('CLIP-L has exactly 123,060,480 parameters, as HF CLIPTextModel (position_ids is a buffer)', () => {
    const s = modelStats(load('examples/hunyuan-video/clip-text.mc'));
    expect(s.params).toBe(123_060_480);
    expect(s.params).toBe(49_408 * 768 + 77 * 768 + 12 * (4 * (768 * 768 + 768) + 4 * 768 + 2 * 768 * 3072 + 3072 + 768) + 2 * 768);
  });
  test('quick_gelu is gelu(x, approx="quick"): x * sigmoid(1.702 x) (the compiled kernel is checked by (a))', () => {
    const g = fromText('model m {\n  input x: fp32[3]\n  output y = gelu(x, approx="quick")\n}\n').graph!;
    const y = evaluate(g, new Map(), new Map([['x', { dtype: 'fp32', shape: [3], data: Float64Array.from([-1, 0.5, 2]) } as TensorData]])).outputs.get('y')!;
    Array.from(y.data).forEach((v, i) => expect(v).toBeCloseTo([-1, 0.5, 2].map((x) => x / (1 + Math.exp(-1.702 * x)))[i], 6));
  });
  test('text_encoder/: LlamaModel names without `model.`; layers 30, 31 and the final norm ignored', () => {
    const g = load('examples/hunyuan-video/text-encoder.mc', { model: 'text_encoder' });
    const m = loadMap('examples/hunyuan-video/text-encoder.diffusers.map');
    const names = g.tensors.filter((t) => t.kind === 'weight').map((t) => resolveWeight(m, t).parts.map((p) => p.name)).flat();
    expect(names).toContain('embed_tokens.weight');
    expect(names).toContain('layers.29.self_attn.q_proj.weight');
    for (const n of names) expect(n).not.toMatch(/^model\./);
    const hf = [...names, 'layers.30.self_attn.q_proj.weight', 'layers.31.mlp.down_proj.weight', 'norm.weight'];
    expect(hf.filter((n) => !names.includes(n)).every((n) => ignored(m, n))).toBe(true);
    expect(names.some((n) => ignored(m, n))).toBe(false);
  });
  test('text_encoder_2/: CLIPTextModel names map to themselves', () => {
    const g = load('examples/hunyuan-video/clip-text.mc');
    const m = loadMap('examples/hunyuan-video/clip-text.diffusers.map');
    for (const t of g.tensors.filter((x) => x.kind === 'weight')) expect(resolveWeight(m, t).parts.map((p) => p.name)).toEqual([t.name]);
    expect(g.tensors.some((t) => t.name === 'text_model.encoder.layers.11.mlp.fc2.weight')).toBe(true);
    expect(ignored(m, 'text_model.embeddings.position_ids')).toBe(true);
  });
  test('mc compile takes both text encoders or neither', async () => {
    const base = ['examples/tiny/dit.mc', '--pipeline', 'hunyuan-video', '--vae', 'examples/tiny/vae.mc', '--backend', 'cpu', '--no-build', '-o', join(TMP, 'x')];
    expect((await runCommand(compileCommand, [...base, '--text-encoder', 'examples/hunyuan-video/text-encoder.mc'])).code).toMatch(/^usage: the text encoders come together/);
    expect((await runCommand(compileCommand, [...base, '--clip-set', 'width=16'])).code).toMatch(/^usage: the text encoders come together/);
    // Widths are checked against the DiT's text inputs before anything is written: CLIP-L is 768 wide, the tiny DiT's pooled 16.
    const r = await runCommand(compileCommand, [...base, '--text-encoder', 'examples/hunyuan-video/text-encoder.mc', '--te-set', 'hidden=32', '--te-set', 'heads=4', '--te-set', 'kv_heads=2', '--clip', 'examples/hunyuan-video/clip-text.mc']);
    expect(r.code).toBe('usage: examples/hunyuan-video/clip-text.mc must have inputs ids, position_ids, eos_mask [1, S] and an output [1, 16] (the DiT\'s text_pooled width); clip_text has inputs ids [1, 77], position_ids [1, 77], eos_mask [1, 77]; output pooled [1, 768]');
    expect(existsSync(join(TMP, 'x'))).toBe(false);
  });
});

// ---------------------------------------------------------------- the launcher with --prompt

const slice = (d: ArrayLike<number>, a: number, b: number): number[] => Array.from(d).slice(a, b);
const ids32 = (xs: readonly number[]): TensorData => ({ dtype: 'i32', shape: [1, xs.length], data: Float64Array.from(xs) });

describe('--prompt end to end', () => {
  let dump: Map<string, TensorData>;
  test('runs 2 steps from a prompt string: text encoders, then the DiT and the decoder', () => {
    const r = launch(['--weights', CK, '--prompt', PROMPT, '--out', join(TMP, 'p_frames'), '--steps', '2', '--dump-video', join(TMP, 'p.safetensors'), '--dump-text', join(TMP, 't.safetensors')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^encode text: [\d.]+ s \(\d+ Llama tokens, \d+ CLIP tokens\)\n/);
    expect(r.stdout).not.toMatch(/warning/);
    expect(r.stdout).toMatch(/wrote 5 PNG frames \(64x64\)/);
    dump = readSafetensors(join(TMP, 't.safetensors')).tensors;
  }, 120_000);

  // (c) The ids are the tokenizer's: BOS + template(prompt), right-padded with <|end_of_text|> (this
  // tokenizer.json has no pad token); CLIP: <|startoftext|> prompt <|endoftext|>... The crop is the
  // template prefix's token count plus the BOS, computed: 95 holds only for the real Llama-3 tokenizer.
  test('(c) token ids: what the tokenizers give for the template and the prompt', () => {
    const tok = loadTokenizers(CK, 'the test checkpoint');
    const ids = Array.from(dump.get('input_ids')!.data);
    const crop = dump.get('crop_start')!.data[0];
    const prefix = LLAMA_TEMPLATE.slice(0, LLAMA_TEMPLATE.indexOf('{}'));
    expect(crop).toBe(1 + tok.llm.encode(prefix).length);
    expect(crop).toBe(teSet.seq - TEXT_LEN);
    const full = [tok.llm.id('<|begin_of_text|>'), ...tok.llm.encode(LLAMA_TEMPLATE.replace('{}', PROMPT))];
    expect(full.length).toBeLessThan(teSet.seq); // padded
    expect(ids).toEqual([...full, ...Array(teSet.seq - full.length).fill(tok.llm.id('<|end_of_text|>'))]);
    expect(ids.slice(0, crop)).toEqual([tok.llm.id('<|begin_of_text|>'), ...tok.llm.encode(prefix)]);
    expect(ids[full.length - 1]).toBe(tok.llm.id('<|eot_id|>'));
    expect(Array.from(dump.get('prompt_attention_mask')!.data)).toEqual(Array.from({ length: TEXT_LEN }, (_, i) => (crop + i < full.length ? 1 : 0)));
    const body = tok.clip.encode(PROMPT);
    const eos = tok.clip.id('<|endoftext|>');
    expect(Array.from(dump.get('clip_input_ids')!.data)).toEqual([tok.clip.id('<|startoftext|>'), ...body, ...Array(CLIP_SET.seq - 1 - body.length).fill(eos)]);
    expect(tokenizePrompt(plan.dit, plan.text!, tok, PROMPT).llm).toEqual(ids);
  });

  // (a) Tolerance: the compiled program and mc eval both store every tensor in fp16 (the specs'
  // dtype) and round after each op; a one-ulp flip (5e-4 relative) through 2 layers stays far below
  // 1e-2, norm-wise. Observed: 0 (bit-identical).
  test('(a) the embeddings equal mc eval of text-encoder.mc and clip-text.mc on the same ids within 1e-2', () => {
    const crop = dump.get('crop_start')!.data[0];
    const te = load('examples/hunyuan-video/text-encoder.mc', { model: 'text_encoder', set: teSet });
    const h = evaluate(te, teW, new Map([['ids', dump.get('input_ids')!]]), 'bf16').outputs.get('hidden_state')!;
    const text = dump.get('prompt_embeds')!;
    expect(text.shape).toEqual([1, TEXT_LEN, 32]);
    expect(relError(text.data, slice(h.data, crop * 32, (crop + TEXT_LEN) * 32))).toBeLessThanOrEqual(1e-2);
    const cids = Array.from(dump.get('clip_input_ids')!.data);
    const eos = cids.indexOf(Math.max(...cids)); // HF: argmax(input_ids), EOS being the largest id
    const cl = load('examples/hunyuan-video/clip-text.mc', { set: clipSet });
    const ins = new Map([['ids', ids32(cids)], ['position_ids', ids32(cids.map((_, i) => i))],
      ['eos_mask', { dtype: 'bool', shape: [1, cids.length], data: Float64Array.from(cids, (_, i) => (i === eos ? 1 : 0)) } as TensorData]]);
    const pooled = evaluate(cl, clipW, ins, 'bf16').outputs.get('pooled')!;
    expect(dump.get('pooled_prompt_embeds')!.shape).toEqual([1, 16]);
    expect(relError(dump.get('pooled_prompt_embeds')!.data, pooled.data)).toBeLessThanOrEqual(1e-2);
    // The pooled state is the EOS row: another position would differ.
    const other = evaluate(cl, clipW, new Map([...ins, ['eos_mask', { dtype: 'bool', shape: [1, cids.length], data: Float64Array.from(cids, (_, i) => (i === 1 ? 1 : 0)) } as TensorData]]), 'bf16').outputs.get('pooled')!;
    expect(relError(other.data, pooled.data)).toBeGreaterThan(1e-2);
  }, 60_000);

  test('(b) the video equals the run fed the same embeddings through --prompt-embeds', () => {
    const r = launch(['--weights', CK, '--prompt-embeds', join(TMP, 't.safetensors'), '--out', join(TMP, 'e_frames'), '--steps', '2', '--dump-video', join(TMP, 'e.safetensors')]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(TMP, 'e.safetensors')).equals(readFileSync(join(TMP, 'p.safetensors')))).toBe(true);
  }, 120_000);

  test('a prompt too long for either encoder: truncated as the reference, one warning line each', () => {
    const long = Array(40).fill('the cat').join(' and ');
    const tok = loadTokenizers(CK, 'the test checkpoint');
    const ids = tokenizePrompt(plan.dit, plan.text!, tok, long);
    expect(ids.llm).toHaveLength(teSet.seq);
    expect(ids.llmMask.every((x) => x === 1)).toBe(true);
    expect(ids.clip).toHaveLength(CLIP_SET.seq);
    expect(ids.clip[CLIP_SET.seq - 1]).toBe(tok.clip.id('<|endoftext|>'));
    expect(ids.eos).toBe(CLIP_SET.seq - 1);
    const r = launch(['--weights', CK, '--prompt', long, '--out', join(TMP, 'l_frames'), '--steps', '1']);
    expect(r.status).toBe(0);
    const warnings = r.stdout.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^warning: the prompt takes \d+ Llama tokens after the template \(with its closing <\|eot_id\|>\), more than the 24 the DiT reads; truncated to 24 as the reference does$/);
    expect(warnings[1]).toMatch(/^warning: the prompt is \d+ CLIP tokens, more than 14; truncated to the first 14 as the reference does$/);
  }, 120_000);
});

describe('--prompt errors: one line, before any compute', () => {
  const bad = (args: string[]) => {
    const r = launch(['--out', join(TMP, 'never'), '--steps', '1', ...args]);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toMatch(/step|load|encode/);
    return r.stderr;
  };
  test('--prompt and --prompt-embeds together', () => {
    expect(bad(['--random-weights', '1', '--prompt', PROMPT, '--prompt-embeds', join(TMP, 't.safetensors')])).toMatch(/^error: give exactly one of --prompt and --prompt-embeds\nusage: /);
  });
  test('--prompt on a build without text encoders says how to recompile', async () => {
    const r = await runCommand((argv) => main({ ...plan, text: undefined }, DIR, argv), ['--random-weights', '1', '--prompt', PROMPT, '--out', join(TMP, 'never')]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('error: this build has no text encoders, so it takes --prompt-embeds; for --prompt, recompile with mc compile ... --pipeline hunyuan-video --text-encoder examples/hunyuan-video/text-encoder.mc --clip examples/hunyuan-video/clip-text.mc\n');
  });
  test('missing tokenizer files: where they were looked for, and --tokenizers', () => {
    const empty = join(TMP, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(bad(['--random-weights', '1', '--prompt', PROMPT, '--tokenizers', empty])).toBe(
      `error: --prompt needs the tokenizers, looked for in --tokenizers ${empty}: no ${join(empty, 'tokenizer/tokenizer.json')}, ${join(empty, 'tokenizer_2/vocab.json')}, ${join(empty, 'tokenizer_2/merges.txt')}; pass --tokenizers DIR (a folder with tokenizer/tokenizer.json and tokenizer_2/vocab.json + merges.txt, e.g. the diffusers checkpoint)\n`);
    expect(bad(['--random-weights', '1', '--prompt', PROMPT])).toMatch(/^error: --prompt with --random-weights needs --tokenizers DIR /);
  });
  test('the text encoders\' checkpoint folders are checked with the others', () => {
    expect(bad(['--weights', join(TMP, 'empty'), '--prompt', PROMPT, '--tokenizers', CK])).toMatch(/no checkpoint folder .*transformer\n.*no checkpoint folder .*vae\n.*no checkpoint folder .*text_encoder\n.*no checkpoint folder .*text_encoder_2\n$/s);
  });
});
