/**
 * Labelled (and unlabelled) prompt sets: JSON lines `{"prompt": string | chat messages, "group":
 * string, "small": number, "large": number}`. The text that is scored is extracted exactly as the
 * proxy extracts it (system prompt plus last user message, truncated).
 */
import { readFileSync } from 'node:fs';
import { chatTextToScore } from '../../proxy/src/routing/text';

/** One prompt of a set. */
export interface Item {
  /** The text the proxy would score (extracted and truncated). */
  readonly text: string;
  /** Group (topic, subject, source) for leave-group-out evaluation; `""` when absent. */
  readonly group: string;
  /** Quality of the small tier's answer in [0, 1]; NaN when unlabelled. */
  readonly small: number;
  /** Quality of the large tier's answer in [0, 1]; NaN when unlabelled. */
  readonly large: number;
}

/** A parsed set. */
export interface Dataset {
  readonly items: Item[];
  /** True when every line carries `small` and `large`. */
  readonly labelled: boolean;
}

/** Thrown for a malformed set; the message names the file, the line and the field. */
export class DatasetError extends Error {}

/** Parses JSON-lines text; every problem (up to 20) is reported at once. */
export function parseDataset(text: string, truncateChars: number, where = 'input'): Dataset {
  const items: Item[] = [];
  const problems: string[] = [];
  let labelled = true;
  let anyLabel = false;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const at = `${where}:${i + 1}`;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (e) {
      problems.push(`${at}: got text that is not JSON (${(e as Error).message}), expected one JSON object a line`);
      return;
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) {
      problems.push(`${at}: got ${JSON.stringify(o)?.slice(0, 40)}, expected a JSON object`);
      return;
    }
    const r = o as Record<string, unknown>;
    let textToScore: string;
    if (typeof r.prompt === 'string') textToScore = chatTextToScore([{ role: 'user', content: r.prompt }], truncateChars);
    else if (Array.isArray(r.prompt) && r.prompt.every((m) => m && typeof m === 'object' && typeof (m as { role?: unknown }).role === 'string')) {
      textToScore = chatTextToScore(r.prompt, truncateChars);
    } else {
      problems.push(`${at}: prompt: got ${JSON.stringify(r.prompt)?.slice(0, 40) ?? 'nothing'}, expected a string or a list of chat messages`);
      return;
    }
    if (r.group !== undefined && typeof r.group !== 'string') {
      problems.push(`${at}: group: got ${JSON.stringify(r.group)}, expected a string`);
      return;
    }
    const label = (k: 'small' | 'large'): number => {
      const v = r[k];
      if (v === undefined) return NaN;
      const n = typeof v === 'boolean' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 1) {
        problems.push(`${at}: ${k}: got ${JSON.stringify(v)}, expected a number in [0, 1]`);
        return NaN;
      }
      return n;
    };
    const small = label('small');
    const large = label('large');
    if (Number.isNaN(small) || Number.isNaN(large)) labelled = false;
    else anyLabel = true;
    items.push({ text: textToScore, group: (r.group as string | undefined) ?? '', small, large });
  });
  if (items.length === 0 && problems.length === 0) problems.push(`${where}: got no lines, expected at least one JSON object`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    if (problems.length > 20) shown.push(`... and ${problems.length - 20} more`);
    throw new DatasetError(shown.join('\n'));
  }
  return { items, labelled: labelled && anyLabel };
}

/** Reads and parses a set from a file. */
export function loadDataset(file: string, truncateChars: number): Dataset {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DatasetError(`${file}: got an unreadable file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}), expected a JSON-lines file`);
  }
  return parseDataset(text, truncateChars, file);
}
