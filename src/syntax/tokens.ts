// Every token of the mc language. Keywords use `longer_alt: Ident` so `dimension` lexes as
// one identifier, not the keyword `dim` followed by `ension`.
import type { TokenType } from 'chevrotain';
import { createToken, Lexer } from './chevrotain.js';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\n]*/, group: Lexer.SKIPPED });

export const Ident = createToken({ name: 'Ident', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
const kw = (name: string, word: string): TokenType =>
  createToken({ name, pattern: new RegExp(word), longer_alt: Ident, label: `'${word}'` });

export const Model = kw('Model', 'model');
export const Block = kw('Block', 'block');
export const Dim = kw('Dim', 'dim');
export const Input = kw('Input', 'input');
export const Output = kw('Output', 'output');
export const Return = kw('Return', 'return');
export const Repeat = kw('Repeat', 'repeat');
export const Use = kw('Use', 'use');
export const As = kw('As', 'as');
export const True = kw('True', 'true');
export const False = kw('False', 'false');

// A float needs a '.' or an exponent; it must come before Int so `1e-6` is one token.
export const Float = createToken({
  name: 'Float',
  pattern: /\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+/,
  label: 'number',
});
export const Int = createToken({ name: 'Int', pattern: /\d+/, label: 'integer' });
export const Str = createToken({ name: 'Str', pattern: /"[^"\n]*"/, label: 'string' });
// A string missing its closing quote runs to the end of the line; parse.ts reports it (MC1006)
// and parses it as a string, so one missing quote does not cascade into unrelated errors.
export const UnterminatedStr = createToken({ name: 'UnterminatedStr', pattern: /"[^"\n]*/, label: 'string' });

const punct = (name: string, pattern: RegExp, label: string): TokenType => createToken({ name, pattern, label: `'${label}'` });
export const LBrace = punct('LBrace', /\{/, '{');
export const RBrace = punct('RBrace', /\}/, '}');
export const LParen = punct('LParen', /\(/, '(');
export const RParen = punct('RParen', /\)/, ')');
export const LBracket = punct('LBracket', /\[/, '[');
export const RBracket = punct('RBracket', /\]/, ']');
export const Comma = punct('Comma', /,/, ',');
export const Colon = punct('Colon', /:/, ':');
export const Equals = punct('Equals', /=/, '=');
export const Plus = punct('Plus', /\+/, '+');
export const Minus = punct('Minus', /-/, '-');
export const Star = punct('Star', /\*/, '*');
export const SlashSlash = punct('SlashSlash', /\/\//, '//');
export const Slash = punct('Slash', /\//, '/');
export const Percent = punct('Percent', /%/, '%');

export const allTokens: TokenType[] = [
  WhiteSpace, Comment,
  Model, Block, Dim, Input, Output, Return, Repeat, Use, As, True, False,
  Ident, Float, Int, Str, UnterminatedStr,
  LBrace, RBrace, LParen, RParen, LBracket, RBracket, Comma, Colon, Equals,
  Plus, Minus, Star, SlashSlash, Slash, Percent,
];

// positionTracking "full" gives each token its line/column; errors are still turned into
// diagnostics by offset, so columns never drift from what the formatter prints.
export const mcLexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });
