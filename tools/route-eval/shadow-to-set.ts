/**
 * `npm run route-eval -- shadow-to-set`: turns stored shadow comparison pairs (gzip JSON lines the
 * proxy writes to S3) into a labelled route-eval set, with the large tier as judge. The large
 * tier's answer is the reference (quality 1); the small tier's answer gets the judge's 0-10 grade
 * divided by 10. A judge answer that is not one grade is counted and its pair skipped, never
 * guessed.
 *
 * Groups (for leave-group-out evaluation): `day` (default) puts each UTC day of traffic in its own
 * group, so a router is always scored on a day it was not trained on, and a burst of near-identical
 * prompts (one user, one session) never sits on both sides of a split; `hash` buckets prompts by a
 * hash of their scored text, which keeps repeats of one prompt together when all traffic is from
 * one day.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { chatTextToScore } from '../../proxy/src/routing/text';

/** Usage text of the subcommand. */
export const SHADOW_USAGE = `Usage: npm run route-eval -- shadow-to-set (--pairs <file|dir> ... | --bucket <name> [--prefix <p>]) --judge-url <url> --judge-model <name> --out <set.jsonl> [options]

Reads shadow comparison pairs (*.jsonl.gz or *.jsonl files, directories searched recursively, or an
S3 bucket and prefix) and writes a labelled set {"prompt","group","small","large"}: large = 1 (the
reference), small = the judge's grade of the small answer against it, 0-10 divided by 10.

  --pairs <path>          pair file or directory, repeatable
  --bucket <name>         read the pairs from S3 instead (ListObjectsV2 + GetObject; AWS credentials needed)
  --prefix <p>            key prefix in the bucket (default shadow-pairs/; e.g. shadow-pairs/dt=2026-03-04/)
  --region <r>            region of the bucket (default: the SDK's region chain)
  --judge-url <url>       OpenAI-compatible server root of the judge (the large tier), e.g. http://127.0.0.1:9102
  --judge-model <name>    model name sent to the judge
  --judge-key <key>       bearer key for the judge (default: $JUDGE_API_KEY, else none)
  --out <file>            the labelled set to write
  --group day|hash        group of each prompt (default day: the UTC day of the pair)
  --hash-groups <n>       groups of --group hash (default 10)
  --concurrency <n>       judge calls in flight (default 4)
  --timeout-ms <n>        deadline of one judge call (default 60000)
`;

/** The judge's instructions: one integer, nothing else. */
export const JUDGE_SYSTEM_PROMPT =
  'You grade a candidate answer to a user request against a reference answer written by a stronger model. ' +
  'Judge correctness, completeness and usefulness to the user; ignore length and style differences that do not matter. ' +
  '10: as good as the reference or better. 7-9: minor omissions or flaws. 4-6: partly right or missing important parts. ' +
  '1-3: mostly wrong or unhelpful. 0: wrong, off-topic or empty. ' +
  'Reply with one integer from 0 to 10 and nothing else.';

interface ShadowOptions {
  pairs: string[];
  bucket?: string;
  prefix: string;
  region?: string;
  judgeUrl: string;
  judgeModel: string;
  judgeKey?: string;
  out: string;
  group: 'day' | 'hash';
  hashGroups: number;
  concurrency: number;
  timeoutMs: number;
}

/** Parses the subcommand's arguments; throws listing every problem. */
export function parseShadowOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ShadowOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      pairs: { type: 'string', multiple: true },
      bucket: { type: 'string' },
      prefix: { type: 'string' },
      region: { type: 'string' },
      'judge-url': { type: 'string' },
      'judge-model': { type: 'string' },
      'judge-key': { type: 'string' },
      out: { type: 'string' },
      group: { type: 'string' },
      'hash-groups': { type: 'string' },
      concurrency: { type: 'string' },
      'timeout-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const problems: string[] = [];
  const pairs = [...(values.pairs ?? []), ...positionals];
  if (pairs.length === 0 && !values.bucket) problems.push('--pairs: got nothing, expected pair files or directories (or --bucket)');
  if (pairs.length > 0 && values.bucket) problems.push(`--bucket: got ${JSON.stringify(values.bucket)} with --pairs, expected one source`);
  const url = values['judge-url'];
  if (url === undefined || !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url)) problems.push(`--judge-url: got ${JSON.stringify(url ?? null)}, expected an http(s) URL such as http://127.0.0.1:9102`);
  if (!values['judge-model']) problems.push('--judge-model: got nothing, expected the judge\'s model name');
  if (!values.out) problems.push('--out: got nothing, expected the file to write the labelled set to');
  const group = values.group ?? 'day';
  if (group !== 'day' && group !== 'hash') problems.push(`--group: got ${JSON.stringify(group)}, expected day or hash`);
  const int = (flag: string, raw: string | undefined, def: number, lo: number, hi: number): number => {
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < lo || n > hi) problems.push(`--${flag}: got ${JSON.stringify(raw)}, expected an integer from ${lo} to ${hi}`);
    return n;
  };
  const opts: ShadowOptions = {
    pairs,
    bucket: values.bucket,
    prefix: values.prefix ?? 'shadow-pairs/',
    region: values.region,
    judgeUrl: (url ?? '').replace(/\/+$/, '').replace(/\/v1$/, ''),
    judgeModel: values['judge-model'] ?? '',
    judgeKey: values['judge-key'] ?? env.JUDGE_API_KEY,
    out: values.out ?? '',
    group: group as ShadowOptions['group'],
    hashGroups: int('hash-groups', values['hash-groups'], 10, 1, 10_000),
    concurrency: int('concurrency', values.concurrency, 4, 1, 256),
    timeoutMs: int('timeout-ms', values['timeout-ms'], 60_000, 100, 3_600_000),
  };
  if (problems.length) throw new Error(problems.join('\n'));
  return opts;
}

/** A stored pair, as far as the set needs it. */
export interface StoredPair {
  readonly id: string;
  readonly time: string;
  readonly prompt: string | unknown[];
  readonly small: { readonly text: string };
  readonly large: { readonly text: string };
}

/** The pair in one parsed line, or why it is unusable. */
export function asPair(v: unknown): StoredPair | string {
  if (!v || typeof v !== 'object') return 'not an object';
  const p = v as Record<string, any>;
  if (typeof p.prompt !== 'string' && !(Array.isArray(p.prompt) && p.prompt.every((m: unknown) => m && typeof m === 'object' && typeof (m as { role?: unknown }).role === 'string'))) {
    return 'prompt is neither a string nor chat messages';
  }
  if (typeof p.small?.text !== 'string' || typeof p.large?.text !== 'string') return 'an answer without text';
  if (p.large.text.trim() === '') return 'an empty reference answer';
  return { id: String(p.id ?? ''), time: typeof p.time === 'string' ? p.time : '', prompt: p.prompt, small: p.small, large: p.large };
}

/** Files below the given paths holding pairs (`.jsonl.gz`, `.jsonl`), sorted. */
export function pairFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(path.join(p, e));
    else if (/\.jsonl(\.gz)?$/.test(p)) out.push(p);
  };
  for (const p of paths) walk(p);
  return out;
}

/** The text of a pair file (gunzipped when it is gzip). */
function decode(bytes: Uint8Array): string {
  const b = Buffer.from(bytes);
  return (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b).toString('utf8');
}

/** The pair objects of S3 keys under `prefix` (every page of ListObjectsV2). */
export async function s3PairTexts(client: S3Client, bucket: string, prefix: string): Promise<Array<{ name: string; text: string }>> {
  // Loaded on demand, like the proxy's clients.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { GetObjectCommand, ListObjectsV2Command } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key && /\.jsonl(\.gz)?$/.test(o.Key)) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const out: Array<{ name: string; text: string }> = [];
  for (const key of keys.sort()) {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = res.Body as { transformToByteArray(): Promise<Uint8Array> } | undefined;
    if (!body) continue;
    out.push({ name: `s3://${bucket}/${key}`, text: decode(await body.transformToByteArray()) });
  }
  return out;
}

/** The judge's grade in [0, 1], or undefined when the answer is not one integer 0-10 (never guessed). */
export function parseGrade(content: unknown): number | undefined {
  if (typeof content !== 'string') return undefined;
  const m = /^\s*(?:(?:score|grade|rating)\s*[:=]?\s*)?\**\s*(10|[0-9])\s*\**\s*(?:\/\s*10)?\s*\.?\s*$/i.exec(content);
  return m ? Number(m[1]) / 10 : undefined;
}

/** The judge's messages for one pair. */
export function judgeMessages(pair: StoredPair): Array<{ role: string; content: string }> {
  const request = typeof pair.prompt === 'string' ? pair.prompt : chatTextToScore(pair.prompt, 100_000);
  return [
    { role: 'system', content: JUDGE_SYSTEM_PROMPT },
    { role: 'user', content: `[Request]\n${request}\n\n[Reference answer]\n${pair.large.text}\n\n[Candidate answer]\n${pair.small.text}\n\nGrade the candidate answer (0-10):` },
  ];
}

/** The pair's group: its UTC day, or a hash bucket of its scored text. */
export function groupOf(pair: StoredPair, how: 'day' | 'hash', buckets: number): string {
  if (how === 'day') return /^\d{4}-\d{2}-\d{2}/.test(pair.time) ? pair.time.slice(0, 10) : 'unknown-day';
  const text = typeof pair.prompt === 'string' ? pair.prompt : chatTextToScore(pair.prompt, 2048);
  const h = createHash('sha256').update(text).digest().readUInt32BE(0);
  return `h${h % buckets}`;
}

/** Counts of one run. */
export interface ShadowRunCounts {
  pairs: number;
  written: number;
  invalid: number;
  unparseable: number;
  judgeFailed: number;
}

/** Reads pairs, judges them and writes the set; resolves to the counts. */
export async function shadowToSet(opts: ShadowOptions, deps: { s3?: S3Client; log?: (s: string) => void } = {}): Promise<ShadowRunCounts> {
  const log = deps.log ?? ((s: string) => process.stdout.write(`${s}\n`));
  let texts: Array<{ name: string; text: string }>;
  if (opts.bucket) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { S3Client: Client } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
    texts = await s3PairTexts(deps.s3 ?? new Client(opts.region ? { region: opts.region } : {}), opts.bucket, opts.prefix);
  } else {
    texts = pairFiles(opts.pairs).map((f) => ({ name: f, text: decode(readFileSync(f)) }));
  }
  const counts: ShadowRunCounts = { pairs: 0, written: 0, invalid: 0, unparseable: 0, judgeFailed: 0 };
  const pairs: StoredPair[] = [];
  for (const { name, text } of texts) {
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      counts.pairs++;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        counts.invalid++;
        log(`  skipped ${name}:${i + 1}: not JSON`);
        return;
      }
      const p = asPair(v);
      if (typeof p === 'string') {
        counts.invalid++;
        log(`  skipped ${name}:${i + 1}: ${p}`);
      } else pairs.push(p);
    });
  }
  log(`${counts.pairs} pairs in ${texts.length} objects; judging ${pairs.length} with ${opts.judgeModel} at ${opts.judgeUrl}`);
  const grades: Array<number | undefined> = new Array(pairs.length);
  let next = 0;
  const worker = async () => {
    while (next < pairs.length) {
      const i = next++;
      grades[i] = await judge(pairs[i], opts, counts, log);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, pairs.length) }, worker));
  const lines: string[] = [];
  pairs.forEach((p, i) => {
    const g = grades[i];
    if (g === undefined) return;
    lines.push(JSON.stringify({ prompt: p.prompt, group: groupOf(p, opts.group, opts.hashGroups), small: g, large: 1 }));
  });
  writeFileSync(opts.out, lines.length ? `${lines.join('\n')}\n` : '');
  counts.written = lines.length;
  log(`${counts.written} labelled prompts written to ${opts.out}; skipped: ${counts.invalid} unusable pairs, ${counts.unparseable} unparseable grades, ${counts.judgeFailed} failed judge calls`);
  return counts;
}

async function judge(pair: StoredPair, opts: ShadowOptions, counts: ShadowRunCounts, log: (s: string) => void): Promise<number | undefined> {
  let content: unknown;
  try {
    const res = await fetch(`${opts.judgeUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(opts.judgeKey ? { authorization: `Bearer ${opts.judgeKey}` } : {}) },
      body: JSON.stringify({ model: opts.judgeModel, messages: judgeMessages(pair), temperature: 0, max_tokens: 8, stream: false }),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    if (!res.ok) throw new Error(`status ${res.status}`);
    const body = (await res.json()) as { choices?: Array<{ message?: { content?: unknown } }> };
    content = body.choices?.[0]?.message?.content;
  } catch (e) {
    counts.judgeFailed++;
    log(`  judge failed on ${pair.id}: ${(e as Error).message}`);
    return undefined;
  }
  const g = parseGrade(content);
  if (g === undefined) {
    counts.unparseable++;
    log(`  unparseable grade for ${pair.id}: ${JSON.stringify(String(content).slice(0, 60))}`);
  }
  return g;
}

/** Runs the subcommand; resolves to the exit code. */
export async function shadowMain(argv: string[], deps: { s3?: S3Client } = {}): Promise<number> {
  let opts: ShadowOptions;
  try {
    const parsed = parseShadowOptions(argv);
    if (parsed === 'help') {
      process.stdout.write(SHADOW_USAGE);
      return 0;
    }
    opts = parsed;
  } catch (e) {
    process.stderr.write(`route-eval shadow-to-set: ${(e as Error).message}\n\n${SHADOW_USAGE}`);
    return 2;
  }
  try {
    const counts = await shadowToSet(opts, deps);
    return counts.written > 0 ? 0 : 1;
  } catch (e) {
    process.stderr.write(`route-eval shadow-to-set: ${(e as Error).message}\n`);
    return 1;
  }
}
