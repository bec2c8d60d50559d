/**
 * Who may read `/readyz` and `/metrics` without an API key. Under `opsAccess: "private"` only a
 * direct caller on a loopback or private address: a request relayed by a load balancer or proxy
 * (it carries `X-Forwarded-For`, `Forwarded` or the ALB's `X-Amzn-Trace-Id`) comes from wherever
 * its client is, even though its TCP peer is the balancer's private address.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Loopback, RFC 1918, RFC 6598 (shared, used by some VPCs), link-local, IPv6 unique-local. */
const PRIVATE = new BlockList();
PRIVATE.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4');
PRIVATE.addSubnet('169.254.0.0', 16, 'ipv4');
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('fe80::', 10, 'ipv6');

/** True for a loopback or private IPv4/IPv6 address (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const a = mapped ? mapped[1] : address;
  if (isIPv4(a)) return PRIVATE.check(a, 'ipv4');
  if (isIPv6(a)) return PRIVATE.check(a, 'ipv6');
  return false;
}

/** True when a load balancer or proxy relayed the request. */
export function relayed(req: IncomingMessage): boolean {
  const h = req.headers;
  return h['x-forwarded-for'] !== undefined || h.forwarded !== undefined || h['x-amzn-trace-id'] !== undefined;
}

/** True when the request comes straight from a loopback or private address. */
export function directPrivateCaller(req: IncomingMessage): boolean {
  return !relayed(req) && isPrivateAddress(req.socket.remoteAddress);
}
