/** Faults the vLLM simulator can inject, and their validation. */

/**
 * One injected fault. All but `unhealthy` queue FIFO and apply to the next `times` (default 1)
 * POST /v1/* requests; `unhealthy` makes GET /health answer 503 until the faults are cleared.
 */
export type Fault =
  | { kind: 'status'; status: number; times?: number; retryAfterSeconds?: number; body?: string }
  | { kind: 'reset-before-headers'; times?: number }
  | { kind: 'no-headers'; times?: number }
  | { kind: 'stall-mid-stream'; afterChunks: number; times?: number }
  | { kind: 'reset-mid-stream'; afterChunks: number; times?: number }
  | { kind: 'malformed-sse'; times?: number }
  | { kind: 'garbage'; times?: number }
  | { kind: 'delay'; ms: number; times?: number }
  | { kind: 'queued'; ms: number; times?: number }
  | { kind: 'unhealthy' };

/** Every fault kind, for error messages and the CLI help. */
export const FAULT_KINDS = [
  'status',
  'reset-before-headers',
  'no-headers',
  'stall-mid-stream',
  'reset-mid-stream',
  'malformed-sse',
  'garbage',
  'delay',
  'queued',
  'unhealthy',
] as const;

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

/**
 * Checks an untrusted value (control endpoint body, request header, programmatic call) and returns
 * it as a Fault, or throws an error listing every problem found.
 */
export function parseFault(input: unknown): Fault {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new Error(`fault: got ${JSON.stringify(input)}, expected an object with a "kind"`);
  }
  const f = input as Record<string, unknown>;
  const problems: string[] = [];
  const kind = f.kind;
  if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`fault.kind: got ${JSON.stringify(kind)}, expected one of ${FAULT_KINDS.join(', ')}`);
  }
  if (f.times !== undefined && !(isNonNegInt(f.times) && f.times >= 1)) {
    problems.push(`fault.times: got ${JSON.stringify(f.times)}, expected an integer >= 1`);
  }
  switch (kind) {
    case 'status':
      if (!(Number.isInteger(f.status) && (f.status as number) >= 100 && (f.status as number) <= 599)) {
        problems.push(`fault.status: got ${JSON.stringify(f.status)}, expected an HTTP status 100-599`);
      }
      if (f.retryAfterSeconds !== undefined && !isNonNegInt(f.retryAfterSeconds)) {
        problems.push(`fault.retryAfterSeconds: got ${JSON.stringify(f.retryAfterSeconds)}, expected an integer >= 0`);
      }
      if (f.body !== undefined && typeof f.body !== 'string') {
        problems.push(`fault.body: got ${JSON.stringify(f.body)}, expected a string`);
      }
      break;
    case 'stall-mid-stream':
    case 'reset-mid-stream':
      if (!isNonNegInt(f.afterChunks)) {
        problems.push(`fault.afterChunks: got ${JSON.stringify(f.afterChunks)}, expected an integer >= 0`);
      }
      break;
    case 'delay':
    case 'queued':
      if (!isNonNegInt(f.ms)) problems.push(`fault.ms: got ${JSON.stringify(f.ms)}, expected an integer >= 0`);
      break;
    default:
      break;
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return { ...f } as Fault;
}
