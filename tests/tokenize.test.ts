// The launcher's tokenizers (src/launcher/runtime-tokenize.ts) on small synthetic tokenizer files:
// a byte-level vocab (id = byte value) plus a handful of merges, special tokens, GPT-2 and Llama-3
// pre-tokenizers, and CLIP's vocab.json + merges.txt. Expected ids are derived by hand in the
// comments; every string also round-trips: ids -> token strings -> bytes through the inverse of
// GPT-2's byte table (written here independently) -> the text.
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { LaunchError } from '../src/launcher/runtime-io.js';
import { readClipTokenizer, readHfTokenizer, type Tokenizer } from '../src/launcher/runtime-tokenize.js';

// GPT-2's bytes_to_unicode as encoder.py writes it: the printable ranges keep their code, the rest
// get 256, 257, ... in byte order.
const BS = [...range(0x21, 0x7e), ...range(0xa1, 0xac), ...range(0xae, 0xff)];
const BYTE: string[] = [];
function range(a: number, b: number): number[] { return Array.from({ length: b - a + 1 }, (_, i) => a + i); }
{ let n = 0; for (let b = 0; b < 256; b++) BYTE[b] = String.fromCodePoint(BS.includes(b) ? b : 256 + n++); }
const UNBYTE = new Map(BYTE.map((c, b) => [c, b]));

// ---------------------------------------------------------------- tokenizer.json

// Merge i makes token 256 + i. 'Ġthere' (280) is in the vocab but no merge makes it (ignore_merges).
const MERGES = ['Ġ t', 'h e', 'Ġt he', 'l l', 'o r', 'Ġ w', 'Ġw or', 'l d', 'Ġwor ld', 'he ll', 'hell o', 'Ġ hello', '1 2', '3 4', "' m", "' M", 'Ċ Ċ', "' Å", 'S x'];
const ID: Record<string, number> = Object.fromEntries(MERGES.map((m, i) => [m.replace(' ', ''), 256 + i]));
const SPECIAL = ['<|begin_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>'];
const LLAMA_SPLIT = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const GPT2 = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
const LLAMA = { type: 'Sequence', pretokenizers: [
  { type: 'Split', pattern: { Regex: LLAMA_SPLIT }, behavior: 'Isolated', invert: false },
  { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
] };

interface HfOpts { pre?: unknown; ignoreMerges?: boolean; pairs?: boolean; model?: Record<string, unknown>; drop?: string }
function hfJson(o: HfOpts = {}): string {
  const vocab: Record<string, number> = {};
  BYTE.forEach((c, b) => { if (c !== o.drop) vocab[c] = b; });
  Object.assign(vocab, ID, { Ġthere: 280 });
  const added = [
    ...SPECIAL.map((content, k) => ({ id: 300 + k, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    { id: 304, content: '<x>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
    { id: 305, content: '<x><y>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
  ];
  return JSON.stringify({
    version: '1.0', added_tokens: added, normalizer: null, pre_tokenizer: o.pre ?? GPT2, post_processor: null,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false,
      ignore_merges: o.ignoreMerges ?? false, vocab, merges: o.pairs ? MERGES.map((m) => m.split(' ')) : MERGES, ...o.model },
  });
}
const gpt2 = readHfTokenizer(hfJson(), 'gpt2.json');
const llama = readHfTokenizer(hfJson({ pre: LLAMA, ignoreMerges: true }), 'llama.json');

/** ids -> text: added tokens as written, vocab tokens through the inverse byte table. */
function decodeHf(json: string, ids: number[]): string {
  const j = JSON.parse(json) as { added_tokens: { id: number; content: string }[]; model: { vocab: Record<string, number> } };
  const token = new Map<number, Buffer>(Object.entries(j.model.vocab).map(([t, id]) => [id, Buffer.from([...t].map((c) => UNBYTE.get(c)!))]));
  for (const a of j.added_tokens) token.set(a.id, Buffer.from(a.content));
  return Buffer.concat(ids.map((id) => token.get(id)!)).toString('utf8');
}

const TEXTS = ['hello world', 'héllo wörld, naïve café', '日本語のテキストと中文', 'emoji 🙂👍🏽 and 𝔘𐐀', 'tabs\tand\nnewlines\r\n  spaces   ',
  "ſ K Σς I'M it's 'S 12345", '', '<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>', 'a<x><y>b<x', '\u0000\u007f\u00ad\ufeff\u2028'];

describe('readHfTokenizer', () => {
  test('GPT-2 byte table: known images of space, newline, 0x00, 0x7f, 0xad', () => {
    expect([0x20, 0x0a, 0x00, 0x7f, 0xad].map((b) => BYTE[b])).toEqual(['Ġ', 'Ċ', 'Ā', 'ġ', 'Ń']);
  });

  test('merges by rank, lowest first; pre-tokens by the GPT-2 pattern', () => {
    // "hello" h e l l o -> he(1) -> ll(3) -> hell(9) -> hello(10); " world" Ġ w o r l d -> or(4) -> Ġw(5) -> Ġwor(6) -> ld(7) -> Ġworld(8)
    expect(gpt2.encode('hello world')).toEqual([ID.hello, ID.Ġworld]);
    // "the": t he (no "t he" merge); " hello": Ġ h e l l o -> ... -> Ġ hello -> Ġhello(11)
    expect(gpt2.encode('the hello')).toEqual([116, ID.he, ID.Ġhello]);
    // " there": Ġt(0) he(1) Ġthe(2), then r e stay bytes
    expect(gpt2.encode(' there')).toEqual([ID.Ġthe, 114, 101]);
    // GPT-2 keeps "12345" one pre-token: 12 34 5
    expect(gpt2.encode('12345')).toEqual([ID['12'], ID['34'], 53]);
    // case-sensitive contractions: "'m" is one pre-token, "'M" is "'" + "M"
    expect(gpt2.encode("I'm I'M")).toEqual([73, ID["'m"], 32, 73, 39, 77]);
  });

  test('ignore_merges: a pre-token in the vocab is one token (Llama-3), else BPE', () => {
    expect(llama.encode(' there')).toEqual([280]);
    const off = readHfTokenizer(hfJson({ pre: LLAMA, ignoreMerges: false }), 'llama.json');
    expect(off.encode(' there')).toEqual([ID.Ġthe, 114, 101]);
    expect(off.encode('hello world')).toEqual(llama.encode('hello world'));
  });

  test('Llama-3 Split regex: (?i:...) contractions, digits in threes, newlines', () => {
    // "'M" and "'ſ" (ſ folds to s) are one pre-token each; in the GPT-2 pattern they are two
    expect(llama.encode("I'M")).toEqual([73, ID["'M"]]);
    expect(llama.encode("'Sx")).toEqual([39, 83, 120]); // "'S" "x": the merge "S x" cannot cross pre-tokens
    expect(gpt2.encode("'Sx")).toEqual([39, ID.Sx]); // "'" "Sx"
    expect(llama.encode("'ſ")).toEqual([ID["'Å"], 0xbf]); // ſ = C5 BF; merge "' Å" joins "'" and C5
    expect(gpt2.encode("'ſ")).toEqual([39, 0xc5, 0xbf]);
    expect(llama.encode('12345')).toEqual([ID['12'], 51, 52, 53]); // "123" "45"
    expect(llama.encode('hi\n\nhello')).toEqual([104, 105, ID.ĊĊ, ID.hello]);
  });

  test('special tokens in the text map to their ids, also inside words', () => {
    expect(llama.encode('<|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|>')).toEqual([302, 117, 115, 101, 114, 303, ID.ĊĊ, ID.hello, 301]);
    expect(llama.encode('hel<|eot_id|>lo')).toEqual([ID.he, 108, 301, 108, 111]);
    expect(gpt2.encode('<|begin_of_text|><|eot_id')).toEqual([300, ...[...'<|eot_id'].map((c) => c.charCodeAt(0))]);
    // leftmost-longest: "<x><y>" wins over "<x>"
    expect(gpt2.encode('a<x><y>b<x>')).toEqual([97, 305, 98, 304]);
  });

  test('bare ByteLevel with add_prefix_space: every text part gets its space', () => {
    const tok = readHfTokenizer(hfJson({ pre: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true } }), 'p.json');
    expect(tok.encode('hello<|eot_id|>world')).toEqual([ID.Ġhello, 301, ID.Ġworld]);
    expect(tok.encode(' hello')).toEqual([ID.Ġhello]);
  });

  test('merges as "a b" strings and as ["a", "b"] pairs give the same tokenizer', () => {
    const pairs = readHfTokenizer(hfJson({ pre: LLAMA, ignoreMerges: true, pairs: true }), 'pairs.json');
    for (const t of TEXTS) expect(pairs.encode(t)).toEqual(llama.encode(t));
  });

  test('equal ranks: the leftmost pair first, re-ranked after each merge (tokenizers)', () => {
    // "qzqz": (q,z) rank 1 at 0 merges first; then (qz,q) rank 0 beats the second (q,z): qzq z.
    const vocab = Object.fromEntries(BYTE.map((c, b) => [c, b]));
    const json = JSON.stringify({ pre_tokenizer: GPT2, model: { type: 'BPE', vocab: { ...vocab, qzq: 256, qz: 257 }, merges: [['qz', 'q'], ['q', 'z']] } });
    expect(readHfTokenizer(json, 'q.json').encode('qzqz')).toEqual([256, 122]);
  });

  test('unicode, emoji, CJK, controls: ids decode back to the text', () => {
    for (const [json, tok] of [[hfJson(), gpt2], [hfJson({ pre: LLAMA, ignoreMerges: true }), llama]] as const) {
      for (const t of TEXTS) expect(decodeHf(json, tok.encode(t))).toBe(t);
    }
  });

  test('id: special and regular tokens; absent ones are named', () => {
    expect(llama.id('<|eot_id|>')).toBe(301);
    expect(llama.id('Ġthe')).toBe(ID.Ġthe);
    expect(llama.id('<x>')).toBe(304);
    expect(() => llama.id('<|nope|>')).toThrow(/llama\.json: token "<\|nope\|>" is in neither/);
  });

  test('a 351-token prompt tokenizes in milliseconds', () => {
    const prompt = Array.from({ length: 60 }, (_, i) => `A cat ${i} walks on the grass, hello world.`).join(' ');
    const fresh = readHfTokenizer(hfJson({ pre: LLAMA, ignoreMerges: true }), 'llama.json');
    const t0 = performance.now();
    const ids = fresh.encode(prompt);
    const ms = performance.now() - t0;
    expect(ids.length).toBeGreaterThan(351);
    expect(ms).toBeLessThan(200); // ~5 ms here; generous for a loaded machine
  });

  const bad: [string, string, RegExp][] = [
    ['not JSON', '{"model":', /^x\.json: not valid JSON/],
    ['not BPE', JSON.stringify({ model: { type: 'WordPiece', vocab: {} } }), /model\.type is "WordPiece"; only "BPE"/],
    ['no vocab', JSON.stringify({ model: { type: 'BPE', merges: [] } }), /model\.vocab is missing/],
    ['bad merge', hfJson({ model: { merges: ['a b', 'a b c'] } }), /model\.merges\[1\] is not "a b" or \["a", "b"\]/],
    ['other pre-tokenizer', hfJson({ pre: { type: 'Whitespace' } }), /pre_tokenizer\.type "Whitespace" is not supported; supported: ByteLevel/],
    ['no ByteLevel', hfJson({ pre: { type: 'Sequence', pretokenizers: [LLAMA.pretokenizers[0]] } }), /no ByteLevel step/],
    ['Removed', hfJson({ pre: { type: 'Split', pattern: { Regex: 'a' }, behavior: 'Removed', invert: false } }), /behavior "Removed" is not supported/],
    ['possessive', hfJson({ pre: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: String.raw`\p{L}++` }, behavior: 'Isolated', invert: false }, GPT2] } }), /pattern\.Regex: the pattern "\\\\p\{L\}\+\+" uses a possessive quantifier/],
    ['atomic group', hfJson({ pre: { type: 'Split', pattern: { Regex: '(?>a)' }, behavior: 'Isolated', invert: false } }), /uses the group "\(\?>"/],
    ['normalizer', JSON.stringify({ ...JSON.parse(hfJson()), normalizer: { type: 'NFC' } }), /normalizer is set/],
  ];
  test.each(bad)('error: %s', (_, json, re) => {
    const e = (() => { try { readHfTokenizer(json, 'x.json'); } catch (err) { return err; } })();
    expect(e).toBeInstanceOf(LaunchError);
    expect((e as Error).message).toMatch(re);
    expect((e as Error).message).not.toContain('\n');
  });

  test('error: a symbol the vocab lacks is named at encode', () => {
    const tok = readHfTokenizer(hfJson({ drop: 'z' }), 'x.json');
    expect(() => tok.encode('a zebra')).toThrow(/x\.json: BPE of "Ġzebra" leaves "z", which is not in model\.vocab/);
  });
});

// ---------------------------------------------------------------- CLIP

// Ids: bytes 0..255, the same + "</w>" 256..511, merge i makes 512 + i, then the two specials.
const CLIP_MERGES = ['h e', 'l l', 'he ll', 'hell o</w>', 'w o', 'r l', 'wo rl', 'worl d</w>', 'qz q', 'q z'];
function clipFiles(eol = '\n'): [string, string] {
  const vocab: Record<string, number> = {};
  BYTE.forEach((c, b) => { vocab[c] = b; vocab[`${c}</w>`] = 256 + b; });
  CLIP_MERGES.forEach((m, i) => { vocab[m.replace(' ', '')] = 512 + i; });
  Object.assign(vocab, { '<|startoftext|>': 522, '<|endoftext|>': 523 });
  return [JSON.stringify(vocab), ['#version: 0.2', ...CLIP_MERGES, ''].join(eol)];
}
const clip = readClipTokenizer(...clipFiles(), 'tokenizer_2');
const W = (c: string) => 256 + c.charCodeAt(0); // a one-byte character ending a word

/** ids -> text with a space after each word (</w>). */
function decodeClip(tok: Tokenizer, ids: number[]): string {
  const byId = new Map(Object.entries(JSON.parse(clipFiles()[0]) as Record<string, number>).map(([t, id]) => [id, t]));
  const words = ids.map((id) => byId.get(id)!).join('').split('</w>');
  return words.map((w) => Buffer.from([...w].map((c) => UNBYTE.get(c)!)).toString('utf8')).join(' ').trim();
}

describe('readClipTokenizer', () => {
  test('whitespace collapsed and stripped, lowercased, </w> on the last symbol of a word', () => {
    // "hello": h e l l o</w> -> he ll hell hello</w>; "world": wo rl worl world</w>
    expect(clip.encode('  Hello\n\t WORLD  ')).toEqual([515, 519]);
    expect(clip.encode('hello, world!')).toEqual([515, W(','), 519, W('!')]);
    expect(clip.encode("don't 42")).toEqual([100, 111, W('n'), 39, W('t'), W('4'), W('2')]);
    // Python's str.isspace whitespace (NBSP, ideographic space, U+001C) collapses; U+FEFF is not whitespace
    expect(clip.encode('\u00a0a\u3000b\u001cc ')).toEqual([W('a'), W('b'), W('c')]);
    expect(clip.encode('a\ufeffb')).toEqual([W('a'), 0xef, 0xbb, 256 + 0xbf, W('b')]);
  });

  test('NFC first: a decomposed é is the precomposed one (C3 A9)', () => {
    expect(clip.encode('cafe\u0301')).toEqual([99, 97, 102, 0xc3, 256 + 0xa9]);
    expect(clip.encode('CAFÉ')).toEqual(clip.encode('cafe\u0301'));
  });

  test('special tokens: cut out first (case-sensitive), and matched after lowercasing', () => {
    expect(clip.encode('<|startoftext|>hello<|endoftext|>')).toEqual([522, 515, 523]);
    // cut first, "x!" stays "x" "!" (the pattern alone would read "!<|" as one run)
    expect(clip.encode('x!<|endoftext|>')).toEqual([W('x'), W('!'), 523]);
    expect(clip.encode('<|ENDOFTEXT|>')).toEqual([523]);
    expect(clip.id('<|startoftext|>')).toBe(522);
    expect(clip.id('<|endoftext|>')).toBe(523);
    expect(clip.id('hello</w>')).toBe(515);
  });

  test('every occurrence of the chosen pair merges in one pass (CLIPTokenizer.bpe)', () => {
    // q z q z q</w>: (q,z) rank 9 twice -> qz qz q</w>; (qz,q) rank 8 never gets its chance
    expect(clip.encode('qzqzq')).toEqual([521, 521, W('q')]);
  });

  test('CRLF merges.txt reads the same', () => {
    const crlf = readClipTokenizer(...clipFiles('\r\n'), 'tokenizer_2');
    expect(crlf.encode('hello world qzqzq')).toEqual(clip.encode('hello world qzqzq'));
  });

  test('unicode round trip: the cleaned, lowercased text comes back', () => {
    for (const t of ['Héllo  Wörld', '日本語 テキスト', '🙂👍🏽 emoji!', 'MiXeD CaSe 123 ſ Σς', "it's a-b_c"]) {
      const clean = t.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
      expect(decodeClip(clip, clip.encode(t)).replace(/ /g, '')).toBe(clean.replace(/ /g, ''));
    }
  });

  test('errors name the file and what is wrong', () => {
    const [vocab, merges] = clipFiles();
    const cases: [() => unknown, RegExp][] = [
      [() => readClipTokenizer('{', merges, 'tok2'), /^tok2: vocab\.json: not valid JSON/],
      [() => readClipTokenizer('[1]', merges, 'tok2'), /vocab\.json: the top level is missing or not an object/],
      [() => readClipTokenizer(vocab, 'h e\nl l', 'tok2'), /^tok2: merges\.txt does not start with its "#version" line/],
      [() => readClipTokenizer(vocab, '#version: 0.2\nh e\nl l x', 'tok2'), /merges\.txt line 3 is not "a b"/],
      [() => readClipTokenizer(JSON.stringify({ a: 0 }), merges, 'tok2'), /token "<\|startoftext\|>" is not in vocab\.json/],
      [() => clip.id('nope'), /tokenizer_2: token "nope" is not in vocab\.json/],
    ];
    for (const [f, re] of cases) {
      expect(f).toThrow(LaunchError);
      expect(f).toThrow(re);
    }
  });
});

test('the runtime file imports nothing but LaunchError (it is printed into the launcher)', () => {
  const src = readFileSync('src/launcher/runtime-tokenize.ts', 'utf8');
  expect(src.match(/^import .*$/gm)).toEqual(["import { LaunchError } from './runtime-io.js';"]);
});
