/**
 * Why a call was given up, as the reason of its AbortSignal. One instance each: a new reason per
 * abort would build an error with a stack trace, and the fast path aborts a scorer call on most
 * simple prompts.
 */
export const CLIENT_GONE = new Error('the client closed the connection');
export const FAST_PATH = new Error('the embedding score alone decided the route');
export const DEADLINE = new Error('the call ran past its deadline');

/** The call was given up though its server did nothing wrong (not a deadline). */
export function unwanted(reason: unknown): boolean {
  return reason === CLIENT_GONE || reason === FAST_PATH;
}
