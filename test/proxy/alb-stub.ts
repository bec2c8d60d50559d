/**
 * A stand-in for the internal ALB listener in front of one tier. While the tier has no capacity it
 * answers every request itself, as an ALB whose target group has no registered (or no healthy)
 * target does: `503 Service Temporarily Unavailable`, `Server: awselb/2.0`, a fixed HTML body. Once
 * the tier has capacity it forwards requests to the tier's server and streams the answers back.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The HTML body an ALB sends with its own 503. */
export const ALB_503_BODY =
  '<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n';

/** A running stub. */
export interface AlbStub {
  readonly url: string;
  /** Whether a healthy target stands behind the listener. */
  capacity: boolean;
  /** Answer `/health` 200 while still refusing other requests (a target passing checks that races a request). */
  healthOnly: boolean;
  /** Requests answered with the ALB's own 503, by path. */
  readonly refused: Record<string, number>;
  /** Requests forwarded to the tier, by path. */
  readonly forwarded: Record<string, number>;
  close(): Promise<void>;
}

/** Starts a stub listener in front of the server at `target` (no capacity at first). */
export async function startAlbStub(target: string): Promise<AlbStub> {
  const t = new URL(target);
  const stub = {
    capacity: false,
    healthOnly: false,
    refused: {} as Record<string, number>,
    forwarded: {} as Record<string, number>,
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const open = stub.capacity || (stub.healthOnly && path === '/health');
    if (!open) {
      req.resume();
      stub.refused[path] = (stub.refused[path] ?? 0) + 1;
      res.writeHead(503, 'Service Temporarily Unavailable', {
        server: 'awselb/2.0',
        'content-type': 'text/html',
        'content-length': Buffer.byteLength(ALB_503_BODY),
        connection: 'keep-alive',
      });
      res.end(ALB_503_BODY);
      return;
    }
    stub.forwarded[path] = (stub.forwarded[path] ?? 0) + 1;
    const up = http.request({ hostname: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host }, agent: false }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(stub, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
