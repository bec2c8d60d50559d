/** Bearer API key check in constant time (SHA-256 digests compared with timingSafeEqual). */
import * as crypto from 'node:crypto';
import { createHash, timingSafeEqual } from 'node:crypto';

/** Checks `Authorization: Bearer <key>` against the configured keys without leaking timing. */
export class ApiKeyChecker {
  private readonly digests: Buffer[];
  /**
   * The header each open connection last passed with (its UTF-8 bytes). A client sends the same
   * header on every request of a keep-alive connection: a header of the same length is compared
   * with it in constant time, without hashing. A load balancer carries many clients' requests on
   * one connection, so this compare must not leak timing either.
   */
  private readonly passed = new WeakMap<object, Buffer>();

  constructor(keys: readonly string[], private readonly allowUnauthenticated = false) {
    this.digests = [...new Set(keys)].map((k) => digest(k));
  }

  /** True when the header carries a configured key (or no keys are required). */
  check(authorization: string | undefined): boolean {
    if (this.digests.length === 0) return this.allowUnauthenticated;
    if (typeof authorization !== 'string' || authorization.length < 8 || authorization.length > 4096) return false;
    const m = /^bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return false;
    const candidate = digest(m[1]);
    let ok = 0;
    // Compare against every key so the time does not depend on which key matched.
    for (const d of this.digests) ok |= timingSafeEqual(d, candidate) ? 1 : 0;
    return ok === 1;
  }

  /** {@link check} for a request on `connection`; the header that connection last passed with passes again. */
  checkOn(connection: object, authorization: string | undefined): boolean {
    if (authorization === undefined) return this.check(authorization);
    const last = this.passed.get(connection);
    const candidate = Buffer.from(authorization, 'utf8');
    if (last !== undefined && last.length === candidate.length && timingSafeEqual(last, candidate)) return true;
    if (!this.check(authorization)) return false;
    this.passed.set(connection, candidate);
    return true;
  }
}

/** One-shot hashing (Node >= 20.12) skips the Hash object that `createHash` builds per call. */
const oneShot: ((algorithm: string, data: string, encoding: 'buffer') => Buffer) | undefined = typeof crypto.hash === 'function' ? crypto.hash : undefined;

function digest(s: string): Buffer {
  return oneShot ? oneShot('sha256', s, 'buffer') : createHash('sha256').update(s, 'utf8').digest();
}
