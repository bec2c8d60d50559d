/**
 * The proxy's GET endpoints besides generation: `/healthz` (open to every caller: load balancer and
 * container health checks), `/readyz` and `/metrics` (private by default, `opsAccess`) and
 * `/v1/models` (API key).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyChecker } from './auth';
import { AUTO_MODEL, OPS_PATHS, type ProxyConfig } from './config';
import { UNAUTHORIZED, methodNotAllowed, notFound, sendError } from './errors';
import { renderPrometheus } from './metrics/prometheus';
import type { ProxyMetrics } from './metrics/registry';
import { directPrivateCaller } from './ops-access';
import type { Readiness } from './readiness';

const JSON_HEADERS = ['content-type', 'application/json'];
const GET_PATHS = new Set(['/healthz', OPS_PATHS.readiness, OPS_PATHS.metrics, '/v1/models']);

/** Sends a 405 naming the method the path serves. */
export function answerMethodNotAllowed(res: ServerResponse, allow: string): void {
  sendError(res, methodNotAllowed(allow), ['allow', allow]);
}

/** Sends a 401 asking for a bearer key. */
export function answerUnauthorized(res: ServerResponse, rid?: string): void {
  sendError(res, UNAUTHORIZED, rid ? ['www-authenticate', 'Bearer', 'x-request-id', rid] : ['www-authenticate', 'Bearer'], true);
}

/** Serves the GET endpoints. */
export class OpsEndpoints {
  private readonly modelsBody: string;

  constructor(
    private readonly config: ProxyConfig,
    private readonly auth: ApiKeyChecker,
    private readonly metrics: ProxyMetrics,
    private readonly readiness: Readiness,
  ) {
    this.modelsBody = JSON.stringify({
      object: 'list',
      data: [AUTO_MODEL, ...config.tiers.map((t) => t.model)].map((id) => ({ id, object: 'model', created: 0, owned_by: 'llm-tier-router' })),
    });
  }

  /**
   * Answers `path` (a 404 when the proxy does not serve it). `fail` ends the request after an error
   * inside the proxy that surfaces later (a readiness probe's rejection).
   */
  serve(req: IncomingMessage, res: ServerResponse, path: string, fail: (err: unknown) => void): void {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && GET_PATHS.has(path)) return answerMethodNotAllowed(res, 'GET');
    switch (path) {
      case '/healthz':
        res.writeHead(200, ['content-type', 'application/json', 'cache-control', 'no-store']);
        res.end('{"status":"ok"}');
        return;
      case OPS_PATHS.readiness:
        if (!this.opsAllowed(req)) return answerUnauthorized(res);
        this.readiness.answer(res).catch(fail);
        return;
      case OPS_PATHS.metrics: {
        if (!this.opsAllowed(req) || (this.config.metrics.prometheusRequiresAuth && !this.auth.check(req.headers.authorization))) return answerUnauthorized(res);
        // Rendered before the head goes out, so a failure can still be answered with a 500.
        const text = renderPrometheus(this.metrics);
        res.writeHead(200, ['content-type', 'text/plain; version=0.0.4; charset=utf-8']);
        res.end(text);
        return;
      }
      case '/v1/models':
        if (!this.auth.check(req.headers.authorization)) return answerUnauthorized(res);
        res.writeHead(200, JSON_HEADERS);
        res.end(this.modelsBody);
        return;
      default:
        sendError(res, notFound(path));
    }
  }

  /** `/readyz` and `/metrics`: open, or for a direct private caller, else with an API key (`opsAccess`). */
  private opsAllowed(req: IncomingMessage): boolean {
    return this.config.opsAccess === 'public' || directPrivateCaller(req) || this.auth.check(req.headers.authorization);
  }
}
