// The launcher's text stage: the DiT's {text, text_mask, text_pooled} from a prompt string (the
// reference's Llama-3 chat template and CLIP-L ids, run on the two text-encoder programs) or from a
// file of embeddings (--prompt-embeds). Node built-ins only; printed into DIR/launcher.ts with the
// other runtime files. The reference is diffusers' HunyuanVideoPipeline (_get_llama_prompt_embeds,
// _get_clip_prompt_embeds) and hyvideo/constants.py.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Tensor, LaunchError, numel, readTensors, shapeText } from './runtime-io.js';
import { type Tokenizer, readClipTokenizer, readHfTokenizer } from './runtime-tokenize.js';
import type { ModelPlan, Program, Prompt, TensorSpec } from './runtime.js';

/** The two text encoders of a pipeline build (mc compile --text-encoder --clip). */
export interface TextPlan {
  readonly llm: ModelPlan; // ids [1, L] -> hidden_state [1, L, text_dim] (Llama-3 layer 30 of 32)
  readonly clip: ModelPlan; // ids, position_ids, eos_mask [1, S] -> pooled [1, clip_dim]
}

/**
 * PROMPT_TEMPLATE_ENCODE_VIDEO of hyvideo/constants.py, character for character (no space after the
 * periods between items). The DiT reads the hidden states after the part before `{}`: its token
 * count plus the BOS is crop_start, 95 with the real Llama-3 tokenizer (the reference hard-codes it;
 * `templateCrop` computes it, so any tokenizer crops where its own template prefix ends).
 */
export const LLAMA_TEMPLATE = '<|start_header_id|>system<|end_header_id|>\n\nDescribe the video by detailing the following aspects: '
  + '1. The main content and theme of the video.'
  + '2. The color, shape, size, texture, quantity, text, and spatial relationships of the objects.'
  + '3. Actions, events, behaviors temporal relationships, physical movement changes of the objects.'
  + '4. background environment, light, style and atmosphere.'
  + '5. camera angles, movements, and transitions used in the video:<|eot_id|>'
  + '<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>';

export interface Tokenizers {
  readonly llm: Tokenizer;
  readonly clip: Tokenizer;
  readonly llmPad: string; // the Llama pad token's name
}

/**
 * Reads DIR/tokenizer/tokenizer.json (Llama-3) and DIR/tokenizer_2/vocab.json + merges.txt (CLIP),
 * the diffusers checkpoint's layout; `how` says where DIR came from, for the one-line error.
 */
export function loadTokenizers(dir: string, how: string): Tokenizers {
  const llm = join(dir, 'tokenizer', 'tokenizer.json');
  const vocab = join(dir, 'tokenizer_2', 'vocab.json');
  const merges = join(dir, 'tokenizer_2', 'merges.txt');
  const missing = [llm, vocab, merges].filter((f) => !existsSync(f));
  if (missing.length > 0)
    throw new LaunchError(`--prompt needs the tokenizers, looked for in ${how}: no ${missing.join(', ')}; pass --tokenizers DIR (a folder with tokenizer/tokenizer.json and tokenizer_2/vocab.json + merges.txt, e.g. the diffusers checkpoint)`);
  // The pad token: tokenizer_config.json's, else <|end_of_text|>. Padding follows every real token, so
  // under causal attention it never changes a real token's state, and the DiT masks padded positions.
  let llmPad = '<|end_of_text|>';
  const cfg = join(dir, 'tokenizer', 'tokenizer_config.json');
  if (existsSync(cfg)) {
    let pad: unknown;
    try {
      pad = (JSON.parse(readFileSync(cfg, 'utf8')) as { pad_token?: unknown }).pad_token;
    } catch {
      throw new LaunchError(`${cfg}: not JSON`);
    }
    if (typeof pad === 'string') llmPad = pad;
    else if (pad && typeof (pad as { content?: unknown }).content === 'string') llmPad = (pad as { content: string }).content;
  }
  return { llm: readHfTokenizer(readFileSync(llm, 'utf8'), llm), clip: readClipTokenizer(readFileSync(vocab, 'utf8'), readFileSync(merges, 'utf8'), vocab), llmPad };
}

/** crop_start: the BOS plus the template's tokens before `{}` (95 with the real Llama-3 tokenizer). */
export const templateCrop = (tok: Tokenizer): number => 1 + tok.encode(LLAMA_TEMPLATE.slice(0, LLAMA_TEMPLATE.indexOf('{}'))).length;

/** The token ids of one prompt, for both encoders. */
export interface PromptIds {
  readonly llm: readonly number[]; // [L]: BOS + template(prompt), truncated, right-padded
  readonly llmMask: readonly number[]; // [L]: 1 for real tokens
  readonly crop: number; // crop_start: the DiT reads positions [crop, crop + text_len)
  readonly clip: readonly number[]; // [S]: <|startoftext|> prompt <|endoftext|>, padded with <|endoftext|>
  readonly eos: number; // the first <|endoftext|>: where CLIP's pooled state is read
  readonly warnings: readonly string[];
}

const specOf = (m: Program, name: string): TensorSpec => {
  const t = m.inputs.find((x) => x.name === name);
  if (!t) throw new LaunchError(`${m.dir}/model has no input '${name}'`);
  return t;
};

/**
 * The reference's tokenization. Llama: BOS + encode(template with the prompt), truncated to L =
 * crop + text_len tokens (the reference's 95 + 256 = 351) and right-padded; mask 1 on real tokens.
 * CLIP: <|startoftext|> + encode(prompt) truncated to S - 2 + <|endoftext|>, padded to S with
 * <|endoftext|> (clip-vit-large-patch14's pad token). A truncation is a warning, as in diffusers.
 */
export function tokenizePrompt(dit: Program, text: TextPlan, tok: Tokenizers, prompt: string): PromptIds {
  const warnings: string[] = [];
  const L = specOf(text.llm, 'ids').shape[1];
  const textLen = specOf(dit, 'text').shape[1];
  const crop = templateCrop(tok.llm);
  if (crop + textLen !== L)
    throw new LaunchError(`${text.llm.dir}/model takes ${L} tokens, but this tokenizer's template prefix is ${crop} tokens (with the BOS) and the DiT reads ${textLen}: recompile with --te-set seq=${crop + textLen}`);
  const full = [tok.llm.id('<|begin_of_text|>'), ...tok.llm.encode(LLAMA_TEMPLATE.replace('{}', () => prompt))];
  if (full.length > L)
    warnings.push(`the prompt takes ${full.length - crop} Llama tokens after the template (with its closing <|eot_id|>), more than the ${textLen} the DiT reads; truncated to ${textLen} as the reference does`);
  const real = full.slice(0, L);
  const pad = tok.llm.id(tok.llmPad);
  const llm = [...real, ...Array<number>(L - real.length).fill(pad)];
  const llmMask = llm.map((_, i) => (i < real.length ? 1 : 0));

  const S = specOf(text.clip, 'ids').shape[1];
  const bos = tok.clip.id('<|startoftext|>');
  const eosId = tok.clip.id('<|endoftext|>');
  let body = tok.clip.encode(prompt);
  if (body.length > S - 2) {
    warnings.push(`the prompt is ${body.length} CLIP tokens, more than ${S - 2}; truncated to the first ${S - 2} as the reference does`);
    body = body.slice(0, S - 2);
  }
  const clip = [bos, ...body, ...Array<number>(S - 1 - body.length).fill(eosId)];
  return { llm, llmMask, crop, clip, eos: body.length + 1, warnings };
}

/** A forward of one text-encoder program (the launcher starts it, runs it once and frees it). */
export type TextForward = (m: ModelPlan, inputs: ReadonlyMap<string, Tensor>) => Promise<Map<string, Tensor>>;

const lastOutput = (m: ModelPlan, outs: ReadonlyMap<string, Tensor>): Tensor => {
  const spec = m.outputs[m.outputs.length - 1];
  const t = outs.get(spec.name);
  if (!t || t.data.length !== numel(spec.shape)) throw new LaunchError(`${m.dir}/model: no '${spec.name}' of ${shapeText(spec.shape)} in the output`);
  return t;
};

/**
 * The DiT's prompt inputs: the LLM's hidden states at [crop, crop + text_len) and the mask there
 * (hidden_states[-3][:, crop:] in the reference), and CLIP's final-LN state at the first EOS.
 */
export async function encodePrompt(dit: Program, text: TextPlan, ids: PromptIds, run: TextForward): Promise<Prompt> {
  const [ts, ms, ps] = ['text', 'text_mask', 'text_pooled'].map((n) => specOf(dit, n));
  const [, T, D] = ts.shape;
  const i32 = (xs: readonly number[]): Tensor => ({ dtype: 'i32', shape: [1, xs.length], data: Float64Array.from(xs) });
  const h = lastOutput(text.llm, await run(text.llm, new Map([['ids', i32(ids.llm)]])));
  const S = ids.clip.length;
  const pooled = lastOutput(text.clip, await run(text.clip, new Map([
    ['ids', i32(ids.clip)],
    ['position_ids', i32(Array.from({ length: S }, (_, i) => i))],
    ['eos_mask', { dtype: 'bool', shape: [1, S], data: Float64Array.from({ length: S }, (_, i) => (i === ids.eos ? 1 : 0)) }],
  ])));
  return {
    text: { dtype: 'fp32', shape: ts.shape, data: Float32Array.from(h.data.subarray(ids.crop * D, (ids.crop + T) * D)) },
    mask: { dtype: 'bool', shape: ms.shape, data: Float64Array.from(ids.llmMask.slice(ids.crop, ids.crop + T)) },
    pooled: { dtype: 'fp32', shape: ps.shape, data: Float32Array.from(pooled.data) },
  };
}

/** --dump-text: what the DiT gets, under the names --prompt-embeds reads, and the token ids. */
export function textDump(prompt: Prompt, ids: PromptIds | undefined): Map<string, Tensor> {
  const out = new Map<string, Tensor>([
    ['prompt_embeds', { ...prompt.text, dtype: 'fp32' }],
    ['prompt_attention_mask', { ...prompt.mask, dtype: 'i64' }],
    ['pooled_prompt_embeds', { ...prompt.pooled, dtype: 'fp32' }],
  ]);
  if (ids) {
    out.set('input_ids', { dtype: 'i32', shape: [1, ids.llm.length], data: Float64Array.from(ids.llm) });
    out.set('clip_input_ids', { dtype: 'i32', shape: [1, ids.clip.length], data: Float64Array.from(ids.clip) });
    out.set('crop_start', { dtype: 'i32', shape: [1], data: Float64Array.from([ids.crop]) });
  }
  return out;
}

/** The prompt embeddings: `text`/`prompt_embeds`, `text_mask`/`prompt_attention_mask`, `text_pooled`/`pooled_prompt_embeds`. */
export function readPrompt(path: string, dit: Program): Prompt {
  const ts = readTensors(path);
  const get = (names: string[], spec: TensorSpec): Tensor => {
    const t = names.map((n) => ts.get(n)).find((x) => x);
    if (!t) throw new LaunchError(`${path}: no tensor ${names.map((n) => `'${n}'`).join(' or ')}; expected ${shapeText(spec.shape)}`);
    if (numel(t.shape) !== numel(spec.shape) || t.shape.filter((d) => d !== 1).join() !== spec.shape.filter((d) => d !== 1).join())
      throw new LaunchError(`${path}: '${names.find((n) => ts.has(n))}' has shape ${shapeText(t.shape)}, the DiT expects ${shapeText(spec.shape)}`);
    return { dtype: t.dtype, shape: spec.shape, data: t.data };
  };
  const mask = get(['text_mask', 'prompt_attention_mask'], specOf(dit, 'text_mask'));
  if (!Array.from(mask.data).some((v) => v !== 0)) throw new LaunchError(`${path}: the text mask has no valid token`);
  return { text: get(['text', 'prompt_embeds'], specOf(dit, 'text')), mask, pooled: get(['text_pooled', 'pooled_prompt_embeds'], specOf(dit, 'text_pooled')) };
}
