/**
 * Routing defaults shared by the CDK configuration (lib/config/defaults.ts) and the proxy's own
 * config (proxy/src/config.ts), so a local run and a deployment route alike.
 *
 * This module must stay free of aws-cdk-lib imports: the proxy bundles it.
 */

/** Words that mark math or code work; they force (or bias towards) the large tier. */
export const DEFAULT_KEYWORDS: readonly string[] = [
  'prove', 'proof', 'theorem', 'lemma', 'corollary', 'derive', 'derivation', 'integral', 'derivative',
  'differential equation', 'eigenvalue', 'eigenvector', 'asymptotic', 'big-o', 'time complexity',
  'space complexity', 'np-hard', 'dynamic programming', 'refactor', 'race condition', 'deadlock',
  'stack trace', 'segfault', 'memory leak', 'compile error',
];

/** Routing defaults of the original design, made robust (shared/docs/architecture.md). */
export const ROUTING_DEFAULTS = {
  threshold: 0.65,
  embeddingWeight: 0.6,
  ratingWeight: 0.4,
  truncateChars: 2048,
  fastPathMargin: 0.2,
  keywordPolicy: 'force' as 'force' | 'bias' | 'off',
  keywordBias: 0.2,
  // A one-token rating from a 1.5B model and one embedding each take tens of milliseconds on an
  // idle L40S; the budgets leave room for queueing without holding a request long.
  scorerTimeoutMs: 400,
  embeddingTimeoutMs: 200,
  sessionTtlSeconds: 1800,
} as const;
