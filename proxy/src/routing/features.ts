/**
 * Text features of a prompt for the learned routing model: cheap counts the proxy computes itself
 * in one pass over the characters, the same whatever embedding model is deployed. Pure.
 */
import { TEXT_FEATURE_NAMES } from '../../../contracts/routing-data';

/** Names of the text features, in the order {@link textFeatures} writes them (the contract's list). */
export const TEXT_FEATURES = TEXT_FEATURE_NAMES;

/** One text feature name. */
export type TextFeature = (typeof TEXT_FEATURES)[number];

// Character classes of the ASCII range, looked up once per character.
const LOWER = 1;
const UPPER = 2;
const DIGIT = 3;
const NEWLINE = 4;
const STOP = 5; // . !
const QUESTION = 6;
const PIPE = 7;
const PAREN = 8;
const MATH = 9; // = + * / ^ < > % $ backslash
const PUNCT = 10; // , ; :
const CLASS = new Uint8Array(128);
for (let c = 97; c <= 122; c++) CLASS[c] = LOWER;
for (let c = 65; c <= 90; c++) CLASS[c] = UPPER;
for (let c = 48; c <= 57; c++) CLASS[c] = DIGIT;
CLASS[10] = NEWLINE;
CLASS[46] = STOP;
CLASS[33] = STOP;
CLASS[63] = QUESTION;
CLASS[124] = PIPE;
CLASS[40] = PAREN;
CLASS[91] = PAREN;
for (const ch of '=+*/^<>%$\\') CLASS[ch.charCodeAt(0)] = MATH;
for (const ch of ',;:') CLASS[ch.charCodeAt(0)] = PUNCT;

const NEGATION = /\b(?:not|NOT|except|EXCEPT|least|false|incorrect|never)\b/;

/** Writes the text features of `text` into `out` from `offset` (length {@link TEXT_FEATURES}). */
export function textFeatures(text: string, out: Float64Array, offset = 0): void {
  const n = text.length;
  let letters = 0;
  let upper = 0;
  let digits = 0;
  let numbers = 0;
  let mathMarks = 0;
  let lines = 1;
  let sentences = 0;
  let questions = 0;
  let pipes = 0;
  let parens = 0;
  let punct = 0;
  let words = 0;
  let longWords = 0;
  let inWord = 0;
  let inNumber = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const k = c < 128 ? CLASS[c] : c >= 0x2200 && c <= 0x22ff ? MATH : c >= 0xc0 ? LOWER : 0;
    if (k === LOWER || k === UPPER) {
      letters++;
      inWord++;
      if (k === UPPER) upper++;
      inNumber = false;
      continue;
    }
    if (inWord > 0) {
      words++;
      if (inWord >= 9) longWords++;
      inWord = 0;
    }
    if (k === DIGIT) {
      digits++;
      if (!inNumber) numbers++;
      inNumber = true;
      continue;
    }
    if (!(inNumber && c === 46)) inNumber = false;
    switch (k) {
      case NEWLINE:
        lines++;
        break;
      case STOP:
        sentences++;
        punct++;
        break;
      case QUESTION:
        sentences++;
        questions++;
        punct++;
        break;
      case PIPE:
        pipes++;
        break;
      case PAREN:
        parens++;
        break;
      case MATH:
        mathMarks++;
        break;
      case PUNCT:
        punct++;
        break;
    }
  }
  if (inWord > 0) {
    words++;
    if (inWord >= 9) longWords++;
  }
  const len = Math.max(1, n);
  let o = offset;
  out[o++] = Math.log1p(n);
  out[o++] = Math.log1p(words);
  out[o++] = words ? letters / words : 0;
  out[o++] = words ? longWords / words : 0;
  out[o++] = digits / len;
  out[o++] = Math.log1p(numbers);
  out[o++] = Math.log1p(mathMarks);
  out[o++] = letters ? upper / letters : 0;
  out[o++] = Math.log1p(lines);
  out[o++] = Math.log1p(sentences);
  out[o++] = Math.min(questions, 5);
  out[o++] = Math.log1p(pipes);
  out[o++] = Math.log1p(parens);
  out[o++] = punct / len;
  out[o] = NEGATION.test(text) ? 1 : 0;
}
