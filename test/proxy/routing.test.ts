import { chatTextToScore, completionTextToScore, contentText, truncate } from '../../proxy/src/routing/text';
import { buildHeuristic } from '../../proxy/src/routing/heuristics';
import { centroid, distance, embeddingScore, normalize } from '../../proxy/src/routing/embedding';
import { expectedRating, parseRating, readRating } from '../../proxy/src/routing/rating';
import { combine, fallbackReason, fastPathDecision, isFastPath, tierForScore, type DecisionPolicy, type Signal } from '../../proxy/src/routing/decide';
import { ScoringError, scoreText, type ScoringBackends } from '../../proxy/src/routing/router';
import { DEFAULT_KEYWORDS } from '../../proxy/src/config';

const policy: DecisionPolicy = {
  boundaries: [0.65],
  embeddingWeight: 0.6,
  ratingWeight: 0.4,
  fastPathMargin: 0.2,
  keywordPolicy: 'force',
  keywordBias: 0.2,
  fallbackTier: 1,
};
const ok = (value: number): Signal => ({ ok: true, value });
const fail = (why: string): Signal => ({ ok: false, why });

describe('text to score', () => {
  test.each([
    ['system prompt then the last user message', [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'first' }, { role: 'assistant', content: 'x' }, { role: 'user', content: 'second' }], 'Be brief.\n\nsecond'],
    ['text parts are joined, images skipped', [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'b' }] }], 'a\nb'],
    ['no system prompt', [{ role: 'user', content: 'hello' }], 'hello'],
    ['only a system prompt', [{ role: 'system', content: 'sys' }], 'sys'],
    ['assistant and tool messages are ignored', [{ role: 'user', content: 'q' }, { role: 'tool', content: 'tool output' }], 'q'],
  ])('%s', (_name, messages, expected) => {
    expect(chatTextToScore(messages, 2048)).toBe(expected);
  });

  test('truncates to the first N characters without splitting a surrogate pair', () => {
    expect(chatTextToScore([{ role: 'user', content: 'x'.repeat(5000) }], 2048)).toHaveLength(2048);
    expect(truncate('ab😀cd', 3)).toBe('ab');
    expect(truncate('ab😀cd', 4)).toBe('ab😀');
    expect(chatTextToScore([{ role: 'system', content: 's'.repeat(10) }, { role: 'user', content: 'u'.repeat(10) }], 15)).toBe(`${'s'.repeat(10)}\n\nuuu`);
  });

  test('completions: a string prompt or the first of a batch', () => {
    expect(completionTextToScore('hello', 3)).toBe('hel');
    expect(completionTextToScore(['a', 'b'], 10)).toBe('a');
    expect(completionTextToScore([1, 2, 3], 10)).toBe('');
    expect(contentText(null)).toBe('');
  });
});

describe('math/code heuristic', () => {
  const h = buildHeuristic(DEFAULT_KEYWORDS);
  test.each([
    ['Fix this:\n```js\nconst a = 1\n```', 'code'],
    ['def foo(x):\n    return x', 'code'],
    ['Compute $$\\int_0^1 x^2 dx$$', 'math'],
    ['Show that ∀ε>0 ∃δ', 'math'],
    ['solve x^2 + 3x = 4', 'math'],
    ['Please prove that sqrt 2 is irrational', 'keyword'],
    ['Refactor my service layer', 'keyword'],
    ['We hit a race condition in the worker pool', 'keyword'],
    ['What are your opening hours?', undefined],
    ['Reformat this address as one line: 12 Main St, Springfield', undefined],
    ['Summarize the proofreading guidelines', undefined],
  ])('%j -> %s', (text, expected) => {
    expect(h.detect(text)).toBe(expected);
  });

  test('keywords are whole words, case-insensitive, from config', () => {
    const custom = buildHeuristic(['Kubernetes', 'state machine']);
    expect(custom.detect('design a STATE   MACHINE')).toBe('keyword');
    expect(custom.detect('kubernetes-operator')).toBeUndefined();
    expect(buildHeuristic([]).detect('prove it')).toBeUndefined();
  });
});

describe('embedding score', () => {
  const c = { simple: centroid([[1, 0, 0], [0.9, 0.1, 0]]), complex: centroid([[0, 1, 0], [0, 0.9, 0.1]]) };
  test('closer to the complex centroid scores above 0.5, closer to simple below', () => {
    expect(embeddingScore([0, 5, 0], c)).toBeGreaterThan(0.5);
    expect(embeddingScore([5, 0, 0], c)).toBeLessThan(0.5);
    expect(embeddingScore([1, 1, 0], c)).toBeCloseTo(0.5, 1);
  });
  test('is exactly 1/(1+exp(d_complex - d_simple)) on the normalized vector', () => {
    const v = [3, 4, 0];
    const n = normalize(v);
    const expected = 1 / (1 + Math.exp(distance(n, c.complex) - distance(n, c.simple)));
    expect(embeddingScore(v, c)).toBeCloseTo(expected, 12);
    expect(embeddingScore(v, c, 4)).toBeCloseTo(1 / (1 + Math.exp(4 * (distance(n, c.complex) - distance(n, c.simple)))), 12);
  });
  test('rejects a vector of the wrong size', () => {
    expect(() => embeddingScore([1, 0], c)).toThrow(/dimensions/);
    expect(() => centroid([])).toThrow();
  });
});

describe('scorer rating', () => {
  const lp = (pairs: Array<[string, number]>) => ({ choices: [{ message: { content: pairs[0][0] }, logprobs: { content: [{ top_logprobs: pairs.map(([token, p]) => ({ token, logprob: Math.log(p) })) }] } }] });
  test.each([
    ['expected value over digit tokens', lp([['7', 0.5], ['8', 0.5]]), 7.5, 'logprobs'],
    ['non-digit tokens are ignored and the rest renormalized', lp([['3', 0.3], [' ', 0.4], ['5', 0.3]]), 4, 'logprobs'],
    ['"10" counts as ten', lp([['10', 1]]), 10, 'logprobs'],
    ['no logprobs: the number in the content', { choices: [{ message: { content: ' 6' } }] }, 6, 'content'],
    ['logprobs without digits fall back to the content', lp([['Rating: 4', 0.9], ['x', 0.1]]), 4, 'content'],
    ['completions-style text', { choices: [{ text: '2' }] }, 2, 'content'],
  ])('%s', (_n, body, rating, from) => {
    expect(readRating(body)).toEqual({ ok: true, rating, from });
  });
  test.each([
    ['words', { choices: [{ message: { content: 'It is hard' } }] }],
    ['out of range', { choices: [{ message: { content: '42' } }] }],
    ['no choices', { choices: [] }],
    ['not an object', 'nope'],
    ['null', null],
  ])('garbage: %s', (_n, body) => {
    expect(readRating(body)).toEqual({ ok: false, why: 'garbage' });
  });
  test('parseRating and expectedRating edge cases', () => {
    expect(parseRating('7.5/10')).toBe(7.5);
    expect(parseRating('100')).toBeUndefined();
    expect(expectedRating([{ token: 'a', logprob: 0 }])).toBeUndefined();
    expect(expectedRating([{ token: '4', logprob: -Infinity }, { token: '2', logprob: 0 }])).toBe(2);
  });
});

describe('routing decision', () => {
  test.each<[string, Signal, Signal, boolean, Partial<DecisionPolicy>, { tier: number; reason: string; score?: number }]>([
    ['both signals, below threshold', ok(0.5), ok(0.5), false, {}, { tier: 0, reason: 'score', score: 0.5 }],
    ['both signals, exactly at threshold goes large', ok(0.65), ok(0.65), false, {}, { tier: 1, reason: 'score', score: 0.65 }],
    ['weighted 0.6/0.4', ok(0.9), ok(0.2), false, {}, { tier: 0, reason: 'score', score: 0.62 }],
    ['weighted 0.6/0.4 above', ok(0.8), ok(0.5), false, {}, { tier: 1, reason: 'score', score: 0.68 }],
    ['scorer failed: embedding decides alone', ok(0.7), fail('timeout'), false, {}, { tier: 1, reason: 'fallback:scorer-timeout', score: 0.7 }],
    ['scorer garbage', ok(0.3), fail('garbage'), false, {}, { tier: 0, reason: 'fallback:scorer-garbage', score: 0.3 }],
    ['embedding failed: rating decides alone', fail('error'), ok(0.9), false, {}, { tier: 1, reason: 'fallback:embedding-error', score: 0.9 }],
    ['embedding not ready', fail('not-ready'), ok(0.1), false, {}, { tier: 0, reason: 'fallback:embedding-not-ready', score: 0.1 }],
    ['both failed: the fallback tier', fail('timeout'), fail('error'), false, {}, { tier: 1, reason: 'fallback:scoring-unavailable' }],
    ['both failed: a configured fallback tier', fail('timeout'), fail('error'), false, { fallbackTier: 0 }, { tier: 0, reason: 'fallback:scoring-unavailable' }],
    ['keyword forces the large tier', ok(0.1), ok(0.1), true, {}, { tier: 1, reason: 'keyword' }],
    ['keyword bias moves the request up', ok(0.5), ok(0.5), true, { keywordPolicy: 'bias' }, { tier: 1, reason: 'keyword', score: 0.7 }],
    ['keyword bias that does not change the tier keeps the reason', ok(0.1), ok(0.1), true, { keywordPolicy: 'bias' }, { tier: 0, reason: 'score', score: 0.3 }],
    ['keyword off', ok(0.1), ok(0.1), true, { keywordPolicy: 'off' }, { tier: 0, reason: 'score', score: 0.1 }],
    ['custom weights and threshold', ok(1), ok(0), false, { embeddingWeight: 0.5, ratingWeight: 0.5, boundaries: [0.4] }, { tier: 1, reason: 'score', score: 0.5 }],
    ['three tiers', ok(0.5), ok(0.5), false, { boundaries: [0.3, 0.7] }, { tier: 1, reason: 'score', score: 0.5 }],
  ])('%s', (_n, emb, rating, hit, over, expected) => {
    const d = combine({ ...policy, ...over }, emb, rating, hit);
    expect(d.tier).toBe(expected.tier);
    expect(d.reason).toBe(expected.reason);
    if (expected.score === undefined) expect(d.score).toBeUndefined();
    else expect(d.score).toBeCloseTo(expected.score, 10);
  });

  test.each([
    [0.86, 0.65, 0.2, true],
    [0.85, 0.65, 0.2, true],
    [0.8, 0.65, 0.2, false],
    [0.45, 0.65, 0.2, true],
    [0.5, 0.65, 0.2, false],
    [0.99, 0.65, 1, false],
    [0.01, 0.65, 1, false],
  ])('fast path: embedding %d, threshold %d, margin %d -> %s', (emb, t, m, expected) => {
    expect(isFastPath([t], m, emb)).toBe(expected);
  });

  test('fast-path decisions pick the side of the threshold', () => {
    expect(fastPathDecision(policy, 0.9, false)).toEqual({ tier: 1, score: 0.9, reason: 'fast-path' });
    expect(fastPathDecision(policy, 0.1, false)).toEqual({ tier: 0, score: 0.1, reason: 'fast-path' });
    expect(fastPathDecision(policy, 0.6, false)).toBeUndefined();
    expect(tierForScore([0.3, 0.7], 0.7)).toBe(2);
    expect(fallbackReason('fallback:embedding-timeout')).toBe('embedding-timeout');
    expect(fallbackReason('score')).toBeUndefined();
  });
});

describe('scoreText (parallel calls, deadlines, fast path)', () => {
  const centroids = { simple: centroid([[1, 0]]), complex: centroid([[0, 1]]) };
  const opts = { embeddingTimeoutMs: 50, scorerTimeoutMs: 80, embeddingScale: 8 };
  const delay = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new Error('aborted'));
      });
    });
  function backends(o: { vec?: number[]; embedMs?: number; embedErr?: Error; rating?: number; rateMs?: number; rateErr?: Error; ready?: boolean }) {
    const calls = { embed: 0, rate: 0, rateAborted: false };
    const b: ScoringBackends = {
      centroids: () => (o.ready === false ? undefined : centroids),
      async embed(_t, s) {
        calls.embed++;
        await delay(o.embedMs ?? 1, s);
        if (o.embedErr) throw o.embedErr;
        return o.vec ?? [1, 1];
      },
      async rate(_t, s) {
        calls.rate++;
        s.addEventListener('abort', () => (calls.rateAborted = true));
        await delay(o.rateMs ?? 1, s);
        if (o.rateErr) throw o.rateErr;
        return { ok: true, rating: o.rating ?? 5, from: 'content' };
      },
    };
    return { b, calls };
  }

  test('both calls run in parallel and combine', async () => {
    const { b, calls } = backends({ vec: [1, 1], rating: 5, embedMs: 20, rateMs: 20 });
    // Each call finishes only once the other has started: run one after the other, they would
    // both hit their deadlines instead of combining.
    let started = 0;
    let bothStarted: () => void = () => undefined;
    const gate = new Promise<void>((r) => (bothStarted = r));
    const arrive = () => (++started === 2 ? bothStarted() : undefined);
    const { embed, rate } = b;
    b.embed = async (t, s, id) => (arrive(), await gate, embed(t, s, id));
    b.rate = async (t, s, id) => (arrive(), await gate, rate(t, s, id));
    const d = await scoreText('x', false, policy, b, { ...opts, embeddingTimeoutMs: 5000, scorerTimeoutMs: 5000 });
    expect(started).toBe(2);
    expect(d.reason).toBe('score');
    expect(d.score).toBeCloseTo(0.6 * 0.5 + 0.4 * 0.5, 6);
    expect(calls).toMatchObject({ embed: 1, rate: 1 });
  });

  test('fast path decides from the embedding and aborts the scorer call', async () => {
    const { b, calls } = backends({ vec: [0, 1], rateMs: 60 });
    const d = await scoreText('x', false, policy, b, opts);
    expect(d.reason).toBe('fast-path');
    expect(d.tier).toBe(1);
    expect(calls.rateAborted).toBe(true);
  });

  test('a slow embedding times out and the rating decides alone', async () => {
    const { b } = backends({ embedMs: 500, rating: 9 });
    const d = await scoreText('x', false, policy, b, opts);
    expect(d).toMatchObject({ tier: 1, reason: 'fallback:embedding-timeout', score: 0.9 });
  });

  test('a failing scorer leaves the embedding to decide', async () => {
    const { b } = backends({ vec: [1, 1], rateErr: new ScoringError('garbage') });
    const d = await scoreText('x', false, policy, b, opts);
    expect(d.reason).toBe('fallback:scorer-garbage');
    expect(d.tier).toBe(0);
  });

  test('a slow scorer times out', async () => {
    const { b } = backends({ vec: [1, 1], rateMs: 500 });
    expect((await scoreText('x', false, policy, b, opts)).reason).toBe('fallback:scorer-timeout');
  });

  test('both failing: the fallback tier', async () => {
    const { b } = backends({ embedErr: new Error('refused'), rateErr: new Error('refused') });
    expect(await scoreText('x', false, policy, b, opts)).toMatchObject({ tier: 1, reason: 'fallback:scoring-unavailable', score: undefined });
  });

  test('centroids not ready: no embedding call, the scorer decides', async () => {
    const { b, calls } = backends({ ready: false, rating: 2 });
    expect(await scoreText('x', false, policy, b, opts)).toMatchObject({ tier: 0, reason: 'fallback:embedding-not-ready' });
    expect(calls.embed).toBe(0);
  });

  test('the keyword rule in force mode makes no scoring call', async () => {
    const { b, calls } = backends({});
    expect(await scoreText('x', true, policy, b, opts)).toMatchObject({ tier: 1, reason: 'keyword', scored: false });
    expect(calls).toMatchObject({ embed: 0, rate: 0 });
  });

  test('a client abort aborts both calls and rejects', async () => {
    const { b, calls } = backends({ embedMs: 40, rateMs: 40 });
    const ctl = new AbortController();
    const p = scoreText('x', false, policy, b, opts, ctl.signal);
    setTimeout(() => ctl.abort(new Error('client gone')), 5);
    await expect(p).rejects.toThrow('client gone');
    expect(calls.rateAborted).toBe(true);
  });
});
