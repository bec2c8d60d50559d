/** Reading the scorer LLM's 0-10 rating from a chat completion response. Pure. */

/** A rating, or why none could be read. */
export type RatingResult = { ok: true; rating: number; from: 'logprobs' | 'content' } | { ok: false; why: 'garbage' };

interface TopLogprob {
  token?: unknown;
  logprob?: unknown;
}

/**
 * The probability-weighted expected rating over the digit tokens `0`..`10` among the first
 * position's `top_logprobs`, when the response carries them; else the number at the start of the
 * content. Anything else is garbage.
 */
export function readRating(body: unknown): RatingResult {
  const choice = (body as { choices?: unknown[] } | null)?.choices?.[0] as
    | { message?: { content?: unknown }; text?: unknown; logprobs?: { content?: Array<{ top_logprobs?: TopLogprob[] }> } }
    | undefined;
  if (!choice || typeof choice !== 'object') return { ok: false, why: 'garbage' };
  const top = choice.logprobs?.content?.[0]?.top_logprobs;
  if (Array.isArray(top)) {
    const expected = expectedRating(top);
    if (expected !== undefined) return { ok: true, rating: expected, from: 'logprobs' };
  }
  const content = typeof choice.message?.content === 'string' ? choice.message.content : typeof choice.text === 'string' ? choice.text : undefined;
  if (content !== undefined) {
    const r = parseRating(content);
    if (r !== undefined) return { ok: true, rating: r, from: 'content' };
  }
  return { ok: false, why: 'garbage' };
}

/** Expected rating over digit tokens, or undefined when no digit token is listed. */
export function expectedRating(top: readonly TopLogprob[]): number | undefined {
  let mass = 0;
  let sum = 0;
  for (const t of top) {
    if (typeof t?.token !== 'string' || typeof t.logprob !== 'number' || !Number.isFinite(t.logprob)) continue;
    const tok = t.token.trim();
    if (!/^(10|[0-9])$/.test(tok)) continue;
    const p = Math.exp(t.logprob);
    mass += p;
    sum += p * Number(tok);
  }
  return mass > 0 ? sum / mass : undefined;
}

/** A 0-10 number at the start of the text (`7`, ` 7.5`, `Rating: 7`), or undefined. */
export function parseRating(text: string): number | undefined {
  const m = /^\s*(?:rating\s*[:=]?\s*)?(\d{1,2}(?:\.\d+)?)(?!\d)/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n >= 0 && n <= 10 ? n : undefined;
}
