/**
 * The one validation toolkit of the project: how a value, a path and a zod issue read in an error
 * line, the did-you-mean helper, the error class that carries every problem, and `deepFreeze`.
 * The CDK config loader, the proxy config, the planner and the command-line tools all use it, so
 * every bad value reads `path: got X, expected Y` the same way.
 *
 * This module must stay free of aws-cdk-lib imports: the proxy and the Lambda bundle it.
 */
import type { z } from 'zod';

/** Every problem found in a document, one `path: got X, expected Y` line each. */
export class ConfigError extends Error {
  /** The problem lines. */
  readonly issues: readonly string[];
  /** `subject`: what was checked, as in "invalid <subject>:" (e.g. `proxy configuration`). */
  constructor(issues: readonly string[], subject = 'configuration') {
    super(`invalid ${subject}:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Renders a value the way it appears in an error line: JSON, cut at 80 characters. */
export function formatValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    const text = JSON.stringify(v);
    if (text === undefined) return String(v);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(v);
  }
}

/** Edit distance between two strings (Levenshtein). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The candidate within a few edits of `word` (a likely typo), if any. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

/** ` (did you mean "x"?)` for the closest candidate within a few edits, else ''. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const best = closestMatch(word, candidates);
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/**
 * How list items appear in a path: `name` writes an item's `name` when it has one (`tiers.large`,
 * the way `-c tiers.large.x=` addresses it), `index` writes `tiers[0]`.
 */
export type ListItemStyle = 'name' | 'index';

/** Joins a path as dotted keys; list items per `style`. */
export function formatPath(path: readonly PropertyKey[], root?: unknown, style: ListItemStyle = 'name'): string {
  let out = '';
  let node: unknown = root;
  for (const key of path) {
    let part: string;
    if (typeof key === 'number' && style === 'index') {
      out += `[${key}]`;
    } else {
      const item = Array.isArray(node) && typeof key === 'number' ? (node[key] as { name?: unknown } | undefined) : undefined;
      part = item && typeof item.name === 'string' ? item.name : String(key);
      out += out ? `.${part}` : part;
    }
    node = node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return out;
}

/**
 * Follows defaults, optionals, preprocessing pipes and other wrappers of a zod schema down to the
 * object, array or record schema inside (or the innermost schema when there is none).
 */
export function unwrapSchema(n: unknown): { def?: Record<string, unknown> } | undefined {
  let cur = n as { def?: Record<string, unknown> } | undefined;
  for (let i = 0; i < 12 && cur?.def; i++) {
    const def = cur.def;
    if (def.type === 'object' || def.type === 'array' || def.type === 'record') return cur;
    if (def.type === 'pipe') {
      const out = def.out as { def?: Record<string, unknown> };
      cur = (out?.def?.type === 'transform' ? def.in : def.out) as typeof cur;
      continue;
    }
    const next = (def.innerType ?? def.in ?? def.schema) as typeof cur;
    if (!next) return cur;
    cur = next;
  }
  return cur;
}

/** Keys of the object schema at `path`, for did-you-mean on unknown keys. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  for (const key of path) {
    const obj = unwrapSchema(node) as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } } | undefined;
    if (obj?.def?.type === 'object' && typeof key === 'string') node = obj.def.shape?.[key];
    else if (obj?.def?.type === 'array') node = obj.def.element;
    else return [];
  }
  const obj = unwrapSchema(node) as { def?: { type?: string; shape?: Record<string, unknown> } } | undefined;
  return obj?.def?.type === 'object' ? Object.keys(obj.def.shape ?? {}) : [];
}

/** zod's own messages start like this; a schema's custom message is an "expected" phrase. */
const DEFAULT_MESSAGE = /^(Invalid|Too (big|small)|Unrecognized)/;

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`;
}

/** A zod type name as the thing a user should have written. */
function expectedType(type: string): string {
  switch (type) {
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
    case 'map':
      return 'an object';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    default:
      return article(type);
  }
}

/** `1 character`, `2 characters`. */
function count(n: number | bigint, unit: string): string {
  return `${String(n)} ${unit}${Number(n) === 1 ? '' : 's'}`;
}

/** The unit a size limit counts, for strings and lists; undefined for numbers. */
function sizeUnit(origin: string): string | undefined {
  if (origin === 'array' || origin === 'set') return 'item';
  if (origin === 'string') return 'character';
  return undefined;
}

function typeName(v: unknown): string {
  return Array.isArray(v) ? 'list' : v === null ? 'null' : typeof v;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let v: unknown = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, seg)) return { found: false, value: undefined };
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return { found: true, value: v };
}

/** Options of {@link formatIssues}. */
export interface FormatOptions {
  /** The schema that was parsed (for the known keys of an object). */
  readonly schema: z.ZodType;
  /** The document that was parsed (for tier names in paths and the values shown). */
  readonly root: unknown;
  /** How list items appear in paths. @default 'name' */
  readonly listItems?: ListItemStyle;
}

/**
 * One zod issue as one or more `path: got X, expected Y` lines. A schema's custom message is either
 * a whole `got ... , expected ...` sentence or the "expected" phrase alone.
 */
export function formatIssue(issue: z.core.$ZodIssue, opts: FormatOptions): string[] {
  const style = opts.listItems ?? 'name';
  const path = formatPath(issue.path, opts.root, style);
  const at = path === '' ? '(document)' : path;
  const raw = issue as { input?: unknown };
  const input = raw.input !== undefined ? raw.input : valueAt(opts.root, issue.path).value;
  const got = input === undefined ? 'nothing' : formatValue(input);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(opts.schema, issue.path);
    return issue.keys.map((key) => `${formatPath([...issue.path, key], opts.root, style)}: got an unknown key, expected one of ${known.join(', ')}${didYouMean(key, known)}`);
  }
  if (issue.message.startsWith('got ')) return [`${at}: ${issue.message}`];
  if (!DEFAULT_MESSAGE.test(issue.message)) return [`${at}: got ${got}, expected ${issue.message}`];
  switch (issue.code) {
    case 'invalid_type': {
      if (input === undefined) return [`${at}: got nothing, expected ${expectedType(issue.expected)}`];
      return [`${at}: got ${got} (${typeName(input)}), expected ${expectedType(issue.expected)}`];
    }
    case 'too_small': {
      const unit = sizeUnit(issue.origin);
      if (unit === undefined) return [`${at}: got ${got}, expected ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}`];
      const shown = Array.isArray(input) ? count(input.length, unit) : got;
      const min = issue.inclusive === false ? Number(issue.minimum) + 1 : issue.minimum;
      return [`${at}: got ${shown}, expected at least ${count(min, unit)}`];
    }
    case 'too_big': {
      const unit = sizeUnit(issue.origin);
      if (unit === undefined) return [`${at}: got ${got}, expected ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}`];
      const shown = Array.isArray(input) ? count(input.length, unit) : got;
      const max = issue.inclusive === false ? Number(issue.maximum) - 1 : issue.maximum;
      return [`${at}: got ${shown}, expected at most ${count(max, unit)}`];
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => String(v));
      return [`${at}: got ${got}, expected one of ${options.join(', ')}${didYouMean(String(input), options)}`];
    }
    case 'not_multiple_of':
      return [`${at}: got ${got}, expected a multiple of ${String(issue.divisor)}`];
    case 'invalid_format':
      return [`${at}: got ${got}, expected ${issue.format}`];
    case 'invalid_union': {
      // A union of literals (e.g. Fargate CPU sizes) lists them; other unions say what failed first.
      const branches = issue.errors.flat();
      if (branches.length > 0 && branches.every((b) => b.code === 'invalid_value')) {
        const values = branches.flatMap((b) => (b as { values: unknown[] }).values.map((v) => String(v)));
        return [`${at}: got ${got}, expected one of ${values.join(', ')}`];
      }
      return [`${at}: got ${got}, expected one of the allowed forms`];
    }
    default:
      return [`${at}: got ${got}, expected ${issue.message}`];
  }
}

/** True when `prefix` is `path` or one of its ancestors. */
function within(prefix: readonly PropertyKey[], path: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((k, i) => k === path[i]);
}

/**
 * Every issue of a failed parse, as lines, without repeats. A value of the wrong type is reported
 * once: what its checks then say about it (a list's length measured on a string) is left out.
 */
export function formatIssues(error: z.ZodError, opts: FormatOptions): string[] {
  const wrongType = error.issues.filter((i) => i.code === 'invalid_type').map((i) => i.path);
  const roots = error.issues.filter((i) => i.code === 'invalid_type' || !wrongType.some((p) => within(p, i.path)));
  return [...new Set(roots.flatMap((i) => formatIssue(i, opts)))];
}

/** Freezes an object graph in place and returns it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
