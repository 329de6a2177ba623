// The launcher's tokenizers for prompt strings: byte-level BPE from a Hugging Face tokenizer.json
// (Llama-3, GPT-2) and CLIP's vocab.json + merges.txt. Each follows its reference step for step (HF
// `tokenizers`; transformers' CLIPTokenizer), so the ids are the reference's. Like the other runtime
// files it imports only Node built-ins: `mc compile` prints it into DIR/launcher.ts as one module
// with them, which is why the private names here all start with `tok`.
import { LaunchError } from './runtime-io.js';

export interface Tokenizer {
  /** Token ids of `text` without BOS/EOS; special tokens written literally in the text (e.g. "<|eot_id|>", "<|start_header_id|>") map to their ids. */
  encode(text: string): number[];
  /** The id of one token string, special or regular; throws LaunchError naming it when absent. */
  id(token: string): number;
}

// ---------------------------------------------------------------- shared pieces

/** GPT-2's bytes_to_unicode: bytes that print (! to ~, ¡ to ¬, ® to ÿ) stand for themselves, the other
 * 68 for U+0100, U+0101, ... in byte order, so every token is printable text without spaces. */
const TOK_BYTE_CHAR: readonly string[] = (() => {
  let n = 0;
  return Array.from({ length: 256 }, (_, b) =>
    String.fromCharCode((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae) ? b : 256 + n++));
})();
const tokBytes = (text: string): string => {
  let s = '';
  for (const b of Buffer.from(text, 'utf8')) s += TOK_BYTE_CHAR[b];
  return s;
};

/** Unicode White_Space as a class body: Oniguruma's and Python `regex`'s \s (JS's \s adds U+FEFF, lacks U+0085). */
const TOK_WS = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TOK_SPACE = new RegExp(`[${TOK_WS}]`, 'u');

function tokFail(where: string, what: string): never { throw new LaunchError(`${where}: ${what}`); }
const tokIsObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
function tokJson(text: string, where: string): unknown {
  try { return JSON.parse(text); } catch (e) { return tokFail(where, `not valid JSON (${(e as Error).message})`); }
}
function tokVocab(v: unknown, where: string, field: string): Map<string, number> {
  if (!tokIsObj(v)) tokFail(where, `${field} is missing or not an object of token -> id`);
  const vocab = new Map<string, number>();
  for (const k of Object.keys(v as object)) { // keys then lookups: 2.5x faster than entries at 128k tokens
    const id = (v as Record<string, unknown>)[k];
    if (!Number.isInteger(id)) tokFail(where, `${field}[${JSON.stringify(k)}] is not an integer id`);
    vocab.set(k, id as number);
  }
  return vocab;
}

/** Merge ranks: left symbol -> right symbol -> rank (nested maps build faster than pair keys and look up without concatenating). */
type TokRanks = Map<string, Map<string, number>>;
function tokRank(ranks: TokRanks, a: string, b: string, rank: number): void {
  let right = ranks.get(a);
  if (right === undefined) ranks.set(a, right = new Map());
  right.set(b, rank); // a repeated merge keeps its last rank, as in both references
}

/**
 * Byte-pair encoding of one word: merge the adjacent pair of lowest rank until no pair is ranked.
 * `tokenizers` merges one pair at a time, the leftmost among equal ranks (its priority queue); CLIP's
 * Python merges every occurrence of the chosen pair in one left-to-right pass (`all`). The two differ
 * only when a merge ranks before the merge that builds one of its halves, never in a learned list.
 */
function tokBpe(word: string[], ranks: TokRanks, all: boolean): string[] {
  for (;;) {
    let best = -1;
    let rank = Infinity;
    for (let i = 0; i + 1 < word.length; i++) {
      const r = ranks.get(word[i])?.get(word[i + 1]);
      if (r !== undefined && r < rank) [best, rank] = [i, r];
    }
    if (best < 0) return word;
    const [a, b] = [word[best], word[best + 1]];
    const out = word.slice(0, best);
    for (let i = best; i < word.length; i++) {
      if ((all || i === best) && word[i] === a && word[i + 1] === b) out.push(a + word[++i]);
      else out.push(word[i]);
    }
    word = out;
  }
}

/** Pieces of `text`: every match of `re` (global) and every non-empty gap between them (Split "Isolated"). */
function tokIsolate(text: string, re: RegExp): string[] {
  const out: string[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m[0] === '') continue;
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** A piece -> token ids function with a bounded cache (prompts repeat words; a cleared cache only costs time). */
function tokCached(f: (piece: string) => number[]): (piece: string) => number[] {
  const cache = new Map<string, number[]>();
  return (piece) => {
    let ids = cache.get(piece);
    if (ids === undefined) {
      if (cache.size >= 50_000) cache.clear();
      cache.set(piece, ids = f(piece));
    }
    return ids;
  };
}

// ---------------------------------------------------------------- added tokens

interface TokAdded { readonly content: string; readonly id: number; readonly singleWord: boolean; readonly lstrip: boolean; readonly rstrip: boolean; readonly normalized: boolean }
const TOK_WORD_END = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u; // Rust regex's Unicode \w
const TOK_WORD_START = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;

/**
 * A function cutting text around literal tokens as `tokenizers`' AddedVocabulary does: leftmost-longest
 * matches, left to right, without overlap; a single_word match inside a word is skipped; lstrip and
 * rstrip take the whitespace beside the token into it.
 */
function tokSplitter(tokens: readonly TokAdded[]): (text: string) => (string | TokAdded)[] {
  const byFirst = new Map<string, TokAdded[]>(); // first UTF-16 unit -> tokens, longest first
  for (const t of [...tokens].sort((a, b) => b.content.length - a.content.length)) {
    byFirst.set(t.content[0], [...(byFirst.get(t.content[0]) ?? []), t]);
  }
  return (text) => {
    const out: (string | TokAdded)[] = [];
    let done = 0; // end of what is already in `out`
    for (let i = 0; i < text.length;) {
      const t = byFirst.get(text[i])?.find((c) => text.startsWith(c.content, i));
      if (t === undefined) { i++; continue; }
      let [start, stop] = [i, i + t.content.length];
      i = stop;
      if (t.singleWord && (TOK_WORD_END.test(text.slice(Math.max(0, start - 2), start)) || TOK_WORD_START.test(text.slice(stop, stop + 2)))) continue;
      while (t.lstrip && start > done && TOK_SPACE.test(text[start - 1])) start--;
      while (t.rstrip && stop < text.length && TOK_SPACE.test(text[stop])) stop++;
      if (start > done) out.push(text.slice(done, start));
      out.push(t);
      done = i = Math.max(i, stop);
    }
    if (done < text.length) out.push(text.slice(done));
    return out;
  };
}

// ---------------------------------------------------------------- Oniguruma patterns in JS

const tokPlanes = new Map<number, string>();
/** Every character equal to `c` under Unicode simple case folding (Oniguruma's one-character folds):
 * `c` searched with the `iu` flags in all characters of its plane (case partners share a plane). */
function tokFolds(c: string): string {
  const cp = c.codePointAt(0)!;
  const plane = cp >> 16;
  let all = tokPlanes.get(plane);
  if (all === undefined) {
    const chars: string[] = [];
    for (let p = plane << 16; p < (plane + 1) << 16; p++) if (p < 0xd800 || p > 0xdfff) chars.push(String.fromCodePoint(p));
    tokPlanes.set(plane, all = chars.join(''));
  }
  return (all.match(new RegExp(`\\u{${cp.toString(16)}}`, 'giu')) ?? [c]).join('');
}

/**
 * A pattern as `tokenizers` compiles it (Oniguruma, Ruby syntax) as a global JS RegExp with the `u`
 * flag, meaning for meaning: \s \d \w . \b get Oniguruma's Unicode sets, ^ and $ match at line ends,
 * and scoped `(?i:...)` (Node 20 lacks it) spells out each literal's case variants. Anything it cannot
 * translate faithfully is an error, never a silent difference.
 */
function tokRegex(src: string, where: string): RegExp {
  const bad = (what: string): never => tokFail(where, `the pattern ${JSON.stringify(src)} uses ${what}, which the launcher does not support`);
  const sets: Record<string, string> = { s: TOK_WS, d: '\\p{Nd}', w: '\\p{L}\\p{M}\\p{Nd}\\p{Pc}' };
  const boundary = (eq: boolean) => `(?:(?<=[${sets.w}])(?${eq ? '=' : '!'}[${sets.w}])|(?<![${sets.w}])(?${eq ? '!' : '='}[${sets.w}]))`;
  const ci = [false]; // per open group: case-insensitive?
  let inClass = false;
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const c = String.fromCodePoint(src.codePointAt(i)!);
    const fold = ci[ci.length - 1];
    if (c === '\\') {
      // Escapes JS reads alike are copied whole (\p{^L} is \P{L}, \x{HH} is \u{HH}).
      const whole = /^\\(?:[pP]\{\^?[^}]*\}|x\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|c[A-Za-z]|k<\w+>|[1-9]\d*|[tnrfv])/.exec(src.slice(i));
      if (whole !== null) {
        const w = whole[0];
        i += w.length - 1;
        if (fold && /^\\[pPk1-9]/.test(w)) bad(`${w} inside (?i:...)`); // Oniguruma folds these too
        const hex = /^\\[xu]\{?([0-9a-fA-F]+)/.exec(w);
        const folds = fold && hex ? tokFolds(String.fromCodePoint(parseInt(hex[1], 16))) : '';
        if (folds.length > 1 && /\p{L}/u.test(folds)) out += inClass ? folds : `[${folds}]`;
        else out += w.replace(/^\\([pP])\{\^/, (_, p: string) => `\\${p === 'p' ? 'P' : 'p'}{`).replace(/^\\x\{/, '\\u{');
        continue;
      }
      const e = String.fromCodePoint(src.codePointAt(++i) ?? bad('a trailing backslash'));
      i += e.length - 1;
      if ('sdw'.includes(e)) out += inClass ? sets[e] : `[${sets[e]}]`;
      else if ('SDW'.includes(e)) out += inClass ? bad(`\\${e} inside [...]`) : `[^${sets[e.toLowerCase()]}]`;
      else if (inClass && e === 'b') out += '\\b'; // backspace
      else if (e === 'b' || e === 'B') out += boundary(e === 'B');
      else if (e === 'A' || e === 'z') out += e === 'A' ? '^' : '$';
      else if (e === 'Z') out += '(?=\\n?$)';
      else if (/[A-Za-z0-9]/.test(e)) bad(`\\${e}`);
      else out += `\\u{${e.codePointAt(0)!.toString(16)}}`; // an escaped literal; JS `u` rejects most identity escapes
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      else if (c === '[') bad('a nested [...] or [[:class:]]');
      else if (c === '&' && src[i + 1] === '&') bad('&& inside [...]');
      else if (fold && c === '-' && !/\[\^?$/.test(src.slice(0, i)) && src[i + 1] !== ']') bad('a range inside (?i:...)');
      out += fold && c !== ']' ? tokFolds(c) : c;
      i += c.length - 1;
      continue;
    }
    if (c === '(') {
      const flags = /^\(\?([imx]*)(?:-([imx]*))?([:)])/.exec(src.slice(i));
      if (flags && (flags[1] || flags[2])) { // (?i:...), (?-i:...)
        if (flags[3] === ')' || /[mx]/.test(flags[1] + (flags[2] ?? ''))) bad(`the inline flags ${flags[0]}`);
        ci.push(flags[1].includes('i') || (fold && !flags[2]?.includes('i')));
        out += '(?:';
        i += flags[0].length - 1;
        continue;
      }
      const head = /^\((?:\?(?::|=|!|<=|<!|<[A-Za-z_]\w*>))?/.exec(src.slice(i))![0];
      if (src[i + 1] === '?' && head === '(') bad(`the group ${JSON.stringify(src.slice(i, i + 3))}`);
      ci.push(fold);
      out += head;
      i += head.length - 1;
      continue;
    }
    if (c === ')') {
      if (ci.length > 1) ci.pop();
      out += ')';
    } else if (c === '[') {
      inClass = true;
      const head = src[i + 1] === '^' ? '[^' : '[';
      if (src[i + head.length] === ']') bad('"]" first in [...]');
      out += head;
      i += head.length - 1;
    } else if (c === '{') {
      const q = /^\{(\d+(?:,\d*)?|,\d+)\}/.exec(src.slice(i)); // {,n} is {0,n} in Oniguruma
      if (q === null) { out += '\\{'; continue; }
      out += q[1].startsWith(',') ? `{0${q[1]}}` : q[0];
      i += q[0].length - 1;
      if (src[i + 1] === '+') bad('"{n,m}+"');
    } else if ('*+?'.includes(c)) {
      if (src[i + 1] === '+') bad('a possessive quantifier');
      out += c;
    } else if (c === '.') out += '[^\\n]';
    else if (c === '^') out += '(?<![^\\n])';
    else if (c === '$') out += '(?![^\\n])';
    else if (c === ']' || c === '}') out += `\\${c}`;
    else {
      const f = fold ? tokFolds(c) : c;
      out += f.length > c.length ? `[${f}]` : c;
      i += c.length - 1;
    }
  }
  if (inClass) bad('an unclosed [');
  try { return new RegExp(out, 'gu'); } catch (e) { return tokFail(where, `the pattern ${JSON.stringify(src)} does not compile as a JS regex: ${(e as Error).message}`); }
}

// ---------------------------------------------------------------- tokenizer.json

const TOK_GPT2 = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
const TOK_PRE = 'supported: ByteLevel, or a Sequence of Split and ByteLevel';
interface TokStage { readonly byteLevel: boolean; readonly run: (piece: string) => string[] }

/** The pre-tokenizer as stages applied in order to every piece; ByteLevel maps each piece's UTF-8 bytes
 * through bytes_to_unicode, so stages after it see the mapped text, as in `tokenizers`. */
function tokStages(pt: unknown, where: string, field: string): TokStage[] {
  if (!tokIsObj(pt)) return tokFail(where, `${field} is missing or null; ${TOK_PRE}`);
  if (pt.type === 'Sequence') {
    if (!Array.isArray(pt.pretokenizers)) tokFail(where, `${field}.pretokenizers is not an array`);
    return (pt.pretokenizers as unknown[]).flatMap((p, i) => tokStages(p, where, `${field}.pretokenizers[${i}]`));
  }
  if (pt.type === 'Split') {
    const pat = pt.pattern;
    const re = tokIsObj(pat) && typeof pat.Regex === 'string' ? tokRegex(pat.Regex, `${where}: ${field}.pattern.Regex`)
      : tokIsObj(pat) && typeof pat.String === 'string' ? new RegExp(Array.from(pat.String, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`).join(''), 'gu')
      : tokFail(where, `${field}.pattern is not {"Regex": ...} or {"String": ...}`);
    if (pt.behavior !== 'Isolated' || pt.invert === true) {
      tokFail(where, `${field}: Split with behavior ${JSON.stringify(pt.behavior)}${pt.invert === true ? ', invert' : ''} is not supported (only "Isolated", not inverted)`);
    }
    return [{ byteLevel: false, run: (p) => tokIsolate(p, re) }];
  }
  if (pt.type === 'ByteLevel') {
    const prefix = pt.add_prefix_space !== false; // serde defaults of ByteLevel: both true
    const re = pt.use_regex !== false ? tokRegex(TOK_GPT2, `${where}: ByteLevel`) : undefined;
    return [{ byteLevel: true, run: (p) => {
      const q = prefix && !p.startsWith(' ') ? ` ${p}` : p;
      return (re ? tokIsolate(q, re) : [q]).map(tokBytes);
    } }];
  }
  return tokFail(where, `${field}.type ${JSON.stringify(pt.type)} is not supported; ${TOK_PRE}`);
}

function tokAddedTokens(v: unknown, where: string): TokAdded[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return tokFail(where, 'added_tokens is not an array');
  return v.flatMap((t: unknown, i): TokAdded[] => {
    if (!tokIsObj(t) || typeof t.content !== 'string' || !Number.isInteger(t.id)) return tokFail(where, `added_tokens[${i}] lacks a string "content" or an integer "id"`);
    if (t.content === '') return []; // `tokenizers` ignores empty added tokens
    return [{ content: t.content, id: t.id as number, singleWord: t.single_word === true, lstrip: t.lstrip === true, rstrip: t.rstrip === true,
      normalized: typeof t.normalized === 'boolean' ? t.normalized : t.special !== true }];
  });
}

/** A Hugging Face tokenizer.json with a byte-level BPE model (GPT-2 / Llama-3 style). `where` names the file in errors. */
export function readHfTokenizer(json: string, where: string): Tokenizer {
  const root = tokJson(json, where);
  if (!tokIsObj(root)) return tokFail(where, 'is not a JSON object (a tokenizer.json)');
  const model = root.model;
  if (!tokIsObj(model)) return tokFail(where, 'model is missing or not an object');
  if (model.type !== 'BPE') tokFail(where, `model.type is ${JSON.stringify(model.type)}; only "BPE" (byte-level, GPT-2 / Llama-3 style) is supported`);
  // The launcher has none of these; refusing beats ids that silently differ from the reference.
  if (root.normalizer !== undefined && root.normalizer !== null) tokFail(where, 'normalizer is set; only tokenizers without a normalizer (Llama-3, GPT-2) are supported');
  for (const f of ['continuing_subword_prefix', 'end_of_word_suffix']) if (model[f]) tokFail(where, `model.${f} is set, which byte-level BPE does not use`);
  if (typeof model.dropout === 'number' && model.dropout > 0) tokFail(where, 'model.dropout is set (random merges); only deterministic BPE is supported');
  const vocab = tokVocab(model.vocab, where, 'model.vocab');
  if (!Array.isArray(model.merges)) return tokFail(where, 'model.merges is missing or not an array');
  const ranks: TokRanks = new Map();
  model.merges.forEach((m: unknown, i: number) => {
    const ab = typeof m === 'string' ? m.split(' ') : m;
    if (!Array.isArray(ab) || ab.length !== 2 || typeof ab[0] !== 'string' || typeof ab[1] !== 'string') tokFail(where, `model.merges[${i}] is not "a b" or ["a", "b"]`);
    tokRank(ranks, ab[0], ab[1], i);
  });
  const stages = tokStages(root.pre_tokenizer, where, 'pre_tokenizer');
  if (!stages.some((s) => s.byteLevel)) tokFail(where, `pre_tokenizer has no ByteLevel step; ${TOK_PRE}`);
  const added = tokAddedTokens(root.added_tokens, where);
  const addedIds = new Map(added.map((t) => [t.content, t.id]));
  // Tokens matched on the raw text first, then the "normalized" ones in what is left (no normalizer: same text).
  const raw = tokSplitter(added.filter((t) => !t.normalized));
  const normalized = tokSplitter(added.filter((t) => t.normalized));
  const ignoreMerges = model.ignore_merges === true;
  const word = tokCached((piece) => {
    const whole = ignoreMerges ? vocab.get(piece) : undefined; // Llama-3: a pre-token in the vocab is one token
    if (whole !== undefined) return [whole];
    return tokBpe(Array.from(piece), ranks, false).map((s) => vocab.get(s) ??
      tokFail(where, `BPE of ${JSON.stringify(piece)} leaves ${JSON.stringify(s)}, which is not in model.vocab`));
  });
  return {
    encode(text) {
      const out: number[] = [];
      for (const part of raw(text).flatMap((p) => (typeof p === 'string' ? normalized(p) : [p]))) {
        if (typeof part !== 'string') { out.push(part.id); continue; }
        let pieces = [part];
        for (const s of stages) pieces = pieces.flatMap(s.run);
        for (const p of pieces) out.push(...word(p));
      }
      return out;
    },
    id: (token) => addedIds.get(token) ?? vocab.get(token) ?? tokFail(where, `token ${JSON.stringify(token)} is in neither added_tokens nor model.vocab`),
  };
}

// ---------------------------------------------------------------- CLIP

const TOK_CLIP_SPECIAL = ['<|startoftext|>', '<|endoftext|>'];
/** CLIPTokenizer's pattern, case-insensitive as there (JS `iu` and Python `regex` both use simple case folding). */
const TOK_CLIP = new RegExp(String.raw`<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^${TOK_WS}\p{L}\p{N}]+`, 'giu');
/** Python `re`'s \s (str.isspace): White_Space plus U+001C..U+001F. */
const TOK_PY_SPACES = new RegExp(`[${TOK_WS}\\x1c-\\x1f]+`, 'gu');

/** CLIP's BPE from vocab.json and merges.txt (openai/clip-vit-large-patch14, as in diffusers' tokenizer_2/ folder). */
export function readClipTokenizer(vocabJson: string, merges: string, where: string): Tokenizer {
  const vocab = tokVocab(tokJson(vocabJson, `${where}: vocab.json`), `${where}: vocab.json`, 'the top level');
  const lines = merges.trim().split('\n');
  if (!lines[0].startsWith('#version')) tokFail(where, 'merges.txt does not start with its "#version" line');
  const ranks: TokRanks = new Map();
  // CLIPTokenizer reads lines [1, 49152 - 256 - 2 + 1): all of openai's file.
  lines.slice(1, 49152 - 256 - 2 + 1).forEach((line, i) => {
    const ab = line.trim().split(/\s+/);
    if (ab.length !== 2) tokFail(where, `merges.txt line ${i + 2} is not "a b"`);
    tokRank(ranks, ab[0], ab[1], i);
  });
  const id = (token: string): number => vocab.get(token) ?? tokFail(where, `token ${JSON.stringify(token)} is not in vocab.json`);
  const specials = tokSplitter(TOK_CLIP_SPECIAL.map((content) => ({ content, id: id(content), singleWord: false, lstrip: false, rstrip: false, normalized: false })));
  const word = tokCached((token) => {
    if (TOK_CLIP_SPECIAL.includes(token)) return [id(token)]; // CLIPTokenizer's cache holds them whole
    const chars = Array.from(token);
    chars.push(`${chars.pop()}</w>`); // the last symbol of a word carries the end-of-word mark
    return tokBpe(chars, ranks, true).map(id);
  });
  return {
    encode(text) {
      const out: number[] = [];
      // transformers cuts the special tokens out first (case-sensitive), then cleans each part. CLIPTokenizer
      // runs ftfy.fix_text when installed; the launcher does not (ftfy is Python), but keeps its NFC step.
      for (const part of specials(text)) {
        if (typeof part !== 'string') { out.push(part.id); continue; }
        // U+0345 is matched by no branch in Python `regex` (JS's `iu` takes it for a letter): a separator, like ' '.
        const clean = part.normalize('NFC').replace(TOK_PY_SPACES, ' ').replace(/^ | $/g, '').toLowerCase().replace(/\u0345/g, ' ');
        for (const m of clean.matchAll(TOK_CLIP)) out.push(...word(tokBytes(m[0])));
      }
      return out;
    },
    id,
  };
}
