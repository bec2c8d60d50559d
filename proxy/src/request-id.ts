/** Request ids: the client's `x-request-id` when it is a sane token, else one made here. */
import { randomBytes } from 'node:crypto';

const SANE = /^[\w.:\-]+$/;

/** Hands out request ids: `<random per process>-<counter>` unless the client sent a usable one. */
export class RequestIds {
  private readonly prefix = randomBytes(4).toString('hex');
  private counter = 0;

  /** The id of a request whose `x-request-id` header is `header`. */
  next(header: string | string[] | undefined): string {
    if (typeof header === 'string' && header.length > 0 && header.length <= 128 && SANE.test(header)) return header;
    return `${this.prefix}-${(++this.counter).toString(36)}`;
  }
}
