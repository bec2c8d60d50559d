/**
 * Deterministic stand-ins for the router fleet's two models: a complexity rating (the scorer LLM)
 * and a text embedding (the embedding server). Pure functions, so the simulator, its tests and the
 * demo agree on what a prompt scores.
 */

/** Word stems that make a prompt look hard: reasoning, design, proofs, performance work. */
const HARD_STEMS: readonly string[] = [
  'prove', 'proof', 'deriv', 'refactor', 'architect', 'design', 'distribut', 'concurren', 'optimi',
  'algorithm', 'complexit', 'theorem', 'multi-step', 'multistep', 'lemma', 'invariant', 'asymptot',
  'scalab', 'consensus', 'deadlock', 'trade-off', 'tradeoff', 'induction', 'formaliz', 'formalis',
  'rigorous', 'linearizab', 'fault-toleran', 'race',
];

/** Words typical of short lookups, formatting and customer support. */
const EASY_WORDS: ReadonlySet<string> = new Set([
  'hours', 'open', 'opening', 'capital', 'format', 'convert', 'translate', 'spell', 'define',
  'password', 'refund', 'order', 'shipping', 'thanks', 'thank', 'hello', 'hi', 'summarize',
  'summarise', 'lookup', 'support', 'account', 'cancel', 'uppercase', 'lowercase', 'date', 'price',
  'address', 'email', 'phone', 'reset', 'login', 'synonym', 'weather', 'list',
]);

const WORD_RE = /[a-z0-9]+(?:-[a-z0-9]+)*/g;

/** Lower-case word tokens of a text. */
export function words(text: string): string[] {
  return text.toLowerCase().match(WORD_RE) ?? [];
}

const WRAPPER_RE = /<(prompt|request|query|text|user_prompt|input)>([\s\S]*?)<\/\1>/i;
const TRIPLE_QUOTE_RE = /"""([\s\S]*?)"""/;

/**
 * The part of a scorer request that is the prompt being rated. A scoring template may wrap the
 * prompt in `<prompt>...</prompt>` (or request/query/text/input tags) or in triple quotes; the
 * instruction around it must not sway the rating.
 */
export function promptToRate(text: string): string {
  const tagged = WRAPPER_RE.exec(text);
  if (tagged) return tagged[2];
  const quoted = TRIPLE_QUOTE_RE.exec(text);
  if (quoted) return quoted[1];
  return text;
}

/**
 * Complexity rating 0-10 of a prompt: hard vocabulary raises it, support and lookup vocabulary and
 * very short prompts lower it, length adds a little. Deterministic.
 */
export function rateComplexity(text: string): number {
  const ws = words(text);
  let hard = 0;
  let easy = 0;
  const seen = new Set<string>();
  for (const w of ws) {
    if (seen.has(w)) continue;
    seen.add(w);
    if (HARD_STEMS.some((s) => w.startsWith(s))) hard++;
    else if (EASY_WORDS.has(w)) easy++;
  }
  let score = 3 + 2 * Math.min(hard, 3) - Math.min(easy, 2);
  if (ws.length > 40) score += 1;
  if (ws.length > 120) score += 1;
  if (ws.length < 8 && hard === 0) score -= 1;
  if (/```|\\(frac|sum|int)|[∀∃∫∑]/.test(text)) score += 1;
  return Math.max(0, Math.min(10, Math.round(score)));
}

/** One entry of an OpenAI chat `logprobs.content[i].top_logprobs` list. */
export interface TopLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly bytes: number[];
}

/** Spread of the simulated rating distribution, in rating points. */
const RATING_SIGMA = 0.8;

/**
 * Log-probabilities of the rating tokens `0` .. `10`, a discretized Gaussian peaked at `rating`,
 * sorted most likely first and cut to `top` entries (vLLM caps `top_logprobs` at 20).
 */
export function ratingTopLogprobs(rating: number, top: number): TopLogprob[] {
  const weights: number[] = [];
  for (let k = 0; k <= 10; k++) weights.push(Math.exp(-((k - rating) ** 2) / (2 * RATING_SIGMA ** 2)));
  const total = weights.reduce((a, b) => a + b, 0);
  const entries = weights.map((w, k) => {
    const token = String(k);
    return { token, logprob: Math.log(w / total), bytes: [...Buffer.from(token, 'utf8')] };
  });
  entries.sort((a, b) => b.logprob - a.logprob);
  return entries.slice(0, Math.max(0, Math.min(20, top)));
}

/** Common English words left out of the embedding so that shared topic words decide similarity. */
const STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'the', 'and', 'or', 'of', 'to', 'in', 'on', 'for', 'with', 'is', 'are', 'was', 'be',
  'it', 'this', 'that', 'my', 'your', 'i', 'you', 'me', 'we', 'our', 'can', 'do', 'does', 'how',
  'what', 'please', 'at', 'by', 'from', 'as', 'if', 'so', 'its', 'about', 'into', 'than', 'then',
]);

/** Task prefixes nomic-embed-text expects on its inputs; they carry no meaning for similarity. */
const TASK_PREFIX_RE = /^(search_query|search_document|classification|clustering): /;

/** 32-bit FNV-1a hash of a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Weight of the shared "hard work" / "simple request" features in an embedding. */
const TOPIC_WEIGHT = 1.5;

function addFeature(v: number[], feature: string, weight: number): void {
  const h = fnv1a(feature);
  v[(h & 0x7fffffff) % v.length] += h & 0x80000000 ? -weight : weight;
}

/**
 * Feature-hashed bag of words, L2-normalized: each word adds +1 or -1 (from one bit of its hash)
 * to one dimension (from the others). Texts that share vocabulary point the same way. Words from
 * the rating's hard and easy lists also add a shared feature each, the way a real embedding model
 * puts reasoning tasks and support questions in different regions.
 */
export function embedText(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const w of words(text.replace(TASK_PREFIX_RE, ''))) {
    if (STOP_WORDS.has(w)) continue;
    addFeature(v, w, 1);
    if (HARD_STEMS.some((s) => w.startsWith(s))) addFeature(v, '#complex-task', TOPIC_WEIGHT);
    else if (EASY_WORDS.has(w)) addFeature(v, '#simple-request', TOPIC_WEIGHT);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  if (norm === 0) {
    // No content word: a fixed unit vector keeps the output normalized and finite.
    v[0] = 1;
    return v;
  }
  const inv = 1 / Math.sqrt(norm);
  for (let i = 0; i < dims; i++) v[i] *= inv;
  return v;
}

/** Cosine similarity of two equal-length vectors. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Approximate token count of a text: about four characters per token, at least one. */
export function approxTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
