/**
 * `route-eval shadow-to-set`: stored pairs (local files or S3) become a labelled set, graded by a
 * judge served on 127.0.0.1; unparseable grades and failed calls are counted and skipped.
 */
import * as http from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { ShadowPair } from '../../proxy/src/shadow/sampler';
import { parseDataset } from '../../tools/route-eval/dataset';
import { main } from '../../tools/route-eval/cli';
import { parseGrade, parseShadowOptions, shadowToSet } from '../../tools/route-eval/shadow-to-set';

const dir = mkdtempSync(path.join(tmpdir(), 'shadow-to-set-'));

function pair(id: string, time: string, candidate: string, prompt: ShadowPair['prompt'] = [{ role: 'user', content: `question ${id}` }]): ShadowPair {
  const answer = (tier: string, text: string) => ({ tier, model: tier, text, truncated: false, finish_reason: 'stop', usage: { prompt_tokens: 1, completion_tokens: 1 } });
  return {
    id,
    time,
    endpoint: 'chat',
    prompt,
    decision: { tier: 'small', score: 0.2, reason: 'score', confidence: 0.45 },
    served: 'small',
    small: answer('small', candidate),
    large: answer('large', `reference answer to ${id}`),
  };
}

const gz = (pairs: unknown[]) => gzipSync(Buffer.from(`${pairs.map((p) => JSON.stringify(p)).join('\n')}\n`));

/** A judge: the grade depends on a marker in the candidate answer. */
let judge: http.Server;
let judgeUrl: string;
const judged: Array<Record<string, any>> = [];
beforeAll(async () => {
  judge = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, any>;
      judged.push(body);
      const user = body.messages[1].content as string;
      const candidate = user.slice(user.indexOf('[Candidate answer]'));
      if (candidate.includes('FAIL')) return void res.writeHead(500).end('{}');
      const content = candidate.includes('GOOD') ? '9' : candidate.includes('BAD') ? 'Score: 2/10' : 'The candidate is decent, maybe a 6 or 7.';
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((r) => judge.listen(0, '127.0.0.1', r));
  judgeUrl = `http://127.0.0.1:${(judge.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => judge.close(() => r())));
beforeEach(() => (judged.length = 0));

const quiet = { log: () => undefined };

describe('shadow-to-set', () => {
  test('grades the small answer against the large one and groups by day; unparseable and failed grades are skipped and counted', async () => {
    const pairsDir = path.join(dir, 'local', 'shadow-pairs', 'dt=2026-03-04');
    mkdirSync(pairsDir, { recursive: true });
    mkdirSync(path.join(dir, 'local', 'shadow-pairs', 'dt=2026-03-05'), { recursive: true });
    writeFileSync(path.join(pairsDir, '000000-aaaa-000001.jsonl.gz'), gz([pair('a', '2026-03-04T10:00:00.000Z', 'GOOD answer'), pair('b', '2026-03-04T11:00:00.000Z', 'BAD answer')]));
    writeFileSync(
      path.join(dir, 'local', 'shadow-pairs', 'dt=2026-03-05', '000000-aaaa-000002.jsonl.gz'),
      gz([pair('c', '2026-03-05T09:00:00.000Z', 'WEIRD answer'), pair('d', '2026-03-05T09:30:00.000Z', 'FAIL answer'), { id: 'e', prompt: 42 }, pair('f', '2026-03-05T10:00:00.000Z', 'GOOD again', 'a completions prompt')]),
    );
    const out = path.join(dir, 'local-set.jsonl');
    const opts = parseShadowOptions(['--pairs', path.join(dir, 'local'), '--judge-url', `${judgeUrl}/v1`, '--judge-model', 'llama-3.1-70b', '--out', out], {});
    if (opts === 'help') throw new Error('help');
    const counts = await shadowToSet(opts, quiet);
    expect(counts).toEqual({ pairs: 6, written: 3, invalid: 1, unparseable: 1, judgeFailed: 1 });
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { prompt: [{ role: 'user', content: 'question a' }], group: '2026-03-04', small: 0.9, large: 1 },
      { prompt: [{ role: 'user', content: 'question b' }], group: '2026-03-04', small: 0.2, large: 1 },
      { prompt: 'a completions prompt', group: '2026-03-05', small: 0.9, large: 1 },
    ]);
    // The judge is asked at temperature 0 for one grade, with the request, the reference and the candidate.
    expect(judged[0]).toMatchObject({ model: 'llama-3.1-70b', temperature: 0, stream: false });
    expect(judged[0].messages[0].content).toMatch(/Reply with one integer from 0 to 10 and nothing else\.$/);
    expect(judged[0].messages[1].content).toContain('[Request]\nquestion a\n\n[Reference answer]\nreference answer to a\n\n[Candidate answer]\nGOOD answer');
    // The result is a set route-eval reads, labelled.
    expect(parseDataset(readFileSync(out, 'utf8'), 2048).labelled).toBe(true);
  });

  test('reads the pairs from S3 under a prefix, every page of the listing', async () => {
    const s3 = mockClient(S3Client);
    try {
      s3.on(ListObjectsV2Command, { Bucket: 'pairs', Prefix: 'shadow-pairs/', ContinuationToken: undefined })
        .resolves({ Contents: [{ Key: 'shadow-pairs/dt=2026-03-04/a.jsonl.gz' }], IsTruncated: true, NextContinuationToken: 't2' });
      s3.on(ListObjectsV2Command, { Bucket: 'pairs', Prefix: 'shadow-pairs/', ContinuationToken: 't2' })
        .resolves({ Contents: [{ Key: 'shadow-pairs/dt=2026-03-06/b.jsonl.gz' }], IsTruncated: false });
      const body = (b: Buffer) => ({ Body: { transformToByteArray: async () => new Uint8Array(b) } as never });
      s3.on(GetObjectCommand, { Bucket: 'pairs', Key: 'shadow-pairs/dt=2026-03-04/a.jsonl.gz' }).resolves(body(gz([pair('s1', '2026-03-04T00:00:00.000Z', 'GOOD')])));
      s3.on(GetObjectCommand, { Bucket: 'pairs', Key: 'shadow-pairs/dt=2026-03-06/b.jsonl.gz' }).resolves(body(gz([pair('s2', '2026-03-06T00:00:00.000Z', 'BAD')])));
      const out = path.join(dir, 's3-set.jsonl');
      const opts = parseShadowOptions(['--bucket', 'pairs', '--region', 'us-east-1', '--judge-url', judgeUrl, '--judge-model', 'j', '--out', out], {});
      if (opts === 'help') throw new Error('help');
      const counts = await shadowToSet(opts, { ...quiet, s3: new S3Client({ region: 'us-east-1' }) });
      expect(counts.written).toBe(2);
      expect(readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).group)).toEqual(['2026-03-04', '2026-03-06']);
    } finally {
      s3.restore();
    }
  });

  test('a grade is one integer from 0 to 10, or nothing', () => {
    expect(parseGrade('7')).toBe(0.7);
    expect(parseGrade(' 10.\n')).toBe(1);
    expect(parseGrade('Score: 3/10')).toBe(0.3);
    expect(parseGrade('**8**')).toBe(0.8);
    for (const bad of ['11', '7 or 8', 'seven', '', '6.5', 'The answer is 7', null]) expect(parseGrade(bad)).toBeUndefined();
  });

  test('command-line mistakes are named; the subcommand is reached through route-eval', async () => {
    expect(() => parseShadowOptions(['--judge-url', 'nope', '--group', 'week'], {})).toThrow(
      ['--pairs: got nothing, expected pair files or directories (or --bucket)', '--judge-url: got "nope", expected an http(s) URL such as http://127.0.0.1:9102', "--judge-model: got nothing, expected the judge's model name", '--out: got nothing, expected the file to write the labelled set to', '--group: got "week", expected day or hash'].join('\n'),
    );
    let err = '';
    const e = jest.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
    try {
      expect(await main(['shadow-to-set', '--pairs', dir])).toBe(2);
    } finally {
      e.mockRestore();
    }
    expect(err).toContain('--judge-url: got null');
  });
});
