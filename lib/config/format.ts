/** Turns validation problems into `path: got X, expected Y` lines a user can act on. */
import type { z } from 'zod';

/** Renders a value the way it appears in an error line. */
export function formatValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    const text = JSON.stringify(v);
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

/** Joins a path as dotted keys, naming tiers by their name when the config has one. */
export function formatPath(path: readonly PropertyKey[], root?: unknown): string {
  const parts: string[] = [];
  let node: unknown = root;
  for (const key of path) {
    if (Array.isArray(node) && typeof key === 'number') {
      const item = node[key] as { name?: unknown } | undefined;
      parts.push(item && typeof item.name === 'string' ? item.name : String(key));
    } else {
      parts.push(String(key));
    }
    node = node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return parts.join('.');
}

/** Known keys of the object schema at a path, for did-you-mean on unknown keys. */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  const unwrap = (n: unknown): unknown => {
    let cur = n as { def?: Record<string, unknown> } | undefined;
    for (let i = 0; i < 10 && cur?.def; i++) {
      const def = cur.def;
      if (def.type === 'object') return cur;
      const next = (def.innerType ?? def.in ?? def.out ?? def.schema) as typeof cur;
      if (def.type === 'pipe') {
        const out = def.out as { def?: Record<string, unknown> };
        cur = (out?.def?.type === 'transform' ? def.in : def.out) as typeof cur;
        continue;
      }
      if (!next) return cur;
      cur = next;
    }
    return cur;
  };
  for (const key of path) {
    const obj = unwrap(node) as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } } | undefined;
    if (obj?.def?.type === 'object' && typeof key === 'string') {
      node = obj.def.shape?.[key];
    } else if (obj?.def?.type === 'array') {
      node = obj.def.element;
    } else {
      return [];
    }
  }
  const obj = unwrap(node) as { def?: { type?: string; shape?: Record<string, unknown> } } | undefined;
  return obj?.def?.type === 'object' ? Object.keys(obj.def.shape ?? {}) : [];
}

/** One zod issue as one or more `path: got X, expected Y` lines. */
export function formatIssue(issue: z.core.$ZodIssue, schema: z.ZodType, root: unknown): string[] {
  const path = formatPath(issue.path, root);
  const at = path === '' ? '(config)' : path;
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(schema, issue.path);
      return issue.keys.map((key) => `${path ? `${path}.` : ''}${key}: got an unknown key, expected one of ${known.join(', ')}${didYouMean(key, known)}`);
    }
    case 'invalid_type':
      return [`${at}: got ${input === undefined ? 'nothing' : `${formatValue(input)} (${Array.isArray(input) ? 'array' : input === null ? 'null' : typeof input})`}, expected ${issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`];
    case 'too_small': {
      const what = issue.origin === 'array' ? ` items` : issue.origin === 'string' ? ' characters' : '';
      const got = issue.origin === 'array' && Array.isArray(input) ? `${input.length}${what}` : formatValue(input);
      return [`${at}: got ${got}, expected ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}${what}`];
    }
    case 'too_big': {
      const what = issue.origin === 'array' ? ` items` : issue.origin === 'string' ? ' characters' : '';
      return [`${at}: got ${formatValue(input)}, expected ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}${what}`];
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => String(v));
      return [`${at}: got ${formatValue(input)}, expected one of ${options.join(', ')}${didYouMean(String(input), options)}`];
    }
    case 'not_multiple_of':
      return [`${at}: got ${formatValue(input)}, expected a multiple of ${String(issue.divisor)}`];
    case 'invalid_format':
      return [`${at}: got ${formatValue(input)}, expected ${issue.message.startsWith('Invalid') ? issue.format : issue.message}`];
    case 'invalid_union':
      return [`${at}: got ${formatValue(input)}, expected ${issue.message.startsWith('Invalid') ? 'one of the allowed values' : issue.message}`];
    default:
      return [issue.message.startsWith('got ') ? `${at}: ${issue.message}` : `${at}: got ${formatValue(input)}, expected ${issue.message}`];
  }
}
