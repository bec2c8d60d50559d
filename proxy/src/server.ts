/**
 * The routing proxy's HTTP server: OpenAI-compatible endpoints, authentication before the body is
 * read, body limits, routing, dispatch, health, readiness and metrics. Every request enters through
 * one boundary: whatever its handling throws or rejects ends that request alone (guard.ts).
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { ApiKeyChecker } from './auth';
import { parseJsonBody, readBody, tooLarge } from './body';
import { shadowServeTierIndex, tierBoundaries, type ProxyConfig } from './config';
import { Exchange } from './dispatch/exchange';
import { DecisionRecord } from './dispatch/decision';
import type { DispatchEnv, ExchangeResult, RoutedRequest, TierRuntime } from './dispatch/types';
import { UNSUPPORTED_MEDIA_TYPE, answerClientError, sendError, type ApiError } from './errors';
import { failRequest } from './guard';
import { createLogger, flushLogger, logOptions } from './log';
import type { CloudWatchPublisher } from './metrics/cloudwatch';
import { ProxyMetrics } from './metrics/registry';
import { OpsEndpoints, answerMethodNotAllowed, answerUnauthorized } from './ops-endpoints';
import { PromptRouter, type ScoringSlot } from './prompt-router';
import { Readiness } from './readiness';
import { RequestIds } from './request-id';
import { RequestLog } from './request-log';
import { shadowServe, type RouteDecision } from './routing/decide';
import { routePrecedence, type TierNames } from './routing/precedence';
import type { ScoringBackends } from './routing/router';
import { buildRuntime } from './runtime';
import type { CentroidLoader } from './scoring';
import { SessionStore } from './sessions';
import { compareLater, type ShadowSampler } from './shadow/sampler';
import type { Upstream } from './upstream';
import { validateBody, type Endpoint } from './validate';

/** Injected dependencies (tests pass a mocked CloudWatch client, a quiet logger, a clock). */
export interface ProxyDeps {
  /** CloudWatch client; default: one built from the SDK's default chain when metrics are enabled. */
  readonly cloudwatch?: CloudWatchClient;
  /** pino logger; default: JSON to stdout at `config.logLevel`. */
  readonly logger?: Logger;
  /** Monotonic clock in ms for deadlines, breakers and sessions; default `performance.now`. */
  readonly now?: () => number;
  /** Scoring back-ends; default: HTTP clients of `config.router`. */
  readonly scoring?: ScoringBackends;
  /** S3 client of the shadow store; default: one built from the SDK's default chain when pairs go to a bucket. */
  readonly s3?: S3Client;
  /** Uniform random numbers in [0, 1) that pick the requests sampled for a shadow comparison; default `Math.random`. */
  readonly random?: () => number;
}

/** A running proxy. */
export interface ProxyHandle {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets streams finish up to `server.shutdownGraceMs`, flushes metrics. */
  close(): Promise<void>;
}

/** Starts the proxy on `config.host:config.port` (port 0 picks a free one). */
export async function startProxy(config: ProxyConfig, deps: ProxyDeps = {}): Promise<ProxyHandle> {
  const proxy = new RoutingProxy(config, deps);
  return proxy.listen();
}

interface ReqState extends ScoringSlot {
  exchange?: Exchange;
}

class RoutingProxy {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly metrics: ProxyMetrics;
  private readonly tiers: TierRuntime[];
  private readonly tierNames: TierNames;
  private readonly boundaries: readonly number[];
  private readonly auth: ApiKeyChecker;
  private readonly sessions: SessionStore;
  private readonly router: PromptRouter;
  private readonly loader: CentroidLoader | undefined;
  private readonly ownUpstreams: readonly Upstream[];
  private readonly publisher: CloudWatchPublisher | undefined;
  private readonly readiness: Readiness;
  private readonly requestLog: RequestLog;
  private readonly env: DispatchEnv;
  private readonly server: http.Server;
  private readonly ops: OpsEndpoints;
  private readonly ids = new RequestIds();
  private readonly sampler: ShadowSampler | undefined;
  /** Shadow mode: the tier serving what the router decides; undefined in route mode. */
  private readonly shadowServeTier: number | undefined;
  private active = 0;
  private closing: Promise<void> | undefined;

  constructor(private readonly config: ProxyConfig, deps: ProxyDeps) {
    this.log = deps.logger ?? createLogger(logOptions(config));
    this.now = deps.now ?? (() => performance.now());
    const shadowMode = config.router.mode === 'shadow';
    this.metrics = new ProxyMetrics(config.tiers, { mode: shadowMode, sampling: config.shadow.sampleRate > 0 });
    const rt = buildRuntime(config, this.metrics, this.log, { scoring: deps.scoring, cloudwatch: deps.cloudwatch, s3: deps.s3, now: this.now, random: deps.random });
    this.sampler = rt.sampler;
    this.shadowServeTier = shadowMode ? shadowServeTierIndex(config) : undefined;
    this.tiers = rt.tiers;
    this.loader = rt.loader;
    this.publisher = rt.publisher;
    this.ownUpstreams = rt.upstreams;
    this.boundaries = tierBoundaries(config);
    this.tierNames = { models: config.tiers.map((t) => t.model), names: config.tiers.map((t) => t.name) };
    this.auth = new ApiKeyChecker(config.apiKeys, config.allowUnauthenticated);
    this.sessions = new SessionStore(config.sessions.ttlSeconds * 1000, config.sessions.maxEntries);
    this.router = new PromptRouter(config, rt.backends, this.sessions, this.metrics, this.log, this.now);
    this.readiness = new Readiness(config.readiness, {
      tiers: this.tiers,
      holds: rt.holds,
      embedding: rt.embedding,
      scorer: rt.scorer,
      centroids: () => rt.loader?.status() ?? { ready: rt.backends.centroids() !== undefined },
      now: this.now,
    });
    this.requestLog = new RequestLog(this.log, this.now);
    this.env = {
      tiers: this.tiers,
      dispatch: config.dispatch,
      policy: rt.policy,
      holds: rt.holds,
      now: this.now,
      onDone: (ex) => this.exchangeDone(ex),
    };
    this.ops = new OpsEndpoints(config, this.auth, this.metrics, this.readiness);
    const s = config.server;
    this.server = http.createServer(
      {
        maxHeaderSize: config.limits.maxHeaderBytes,
        headersTimeout: s.headersTimeoutMs,
        requestTimeout: s.requestTimeoutMs,
        connectionsCheckingInterval: s.connectionsCheckingIntervalMs,
        keepAliveTimeout: s.keepAliveTimeoutMs,
        noDelay: true,
      },
      (req, res) => this.handle(req, res),
    );
    this.server.keepAliveTimeout = s.keepAliveTimeoutMs;
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => answerClientError(err, socket));
  }

  async listen(): Promise<ProxyHandle> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const port = (this.server.address() as AddressInfo).port;
    void this.loader?.start();
    this.publisher?.start();
    const host = this.config.host === '0.0.0.0' || this.config.host === '::' ? '127.0.0.1' : this.config.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.log.info({ port, tiers: this.config.tiers.map((t) => t.name), authenticated: this.config.apiKeys.length > 0 }, 'routing proxy listening');
    // Request lines may wait in the log buffer; this one is out at once (scripts wait for it).
    this.log.flush();
    return { url, port, close: () => this.close() };
  }

  private close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + this.config.server.shutdownGraceMs;
    while (this.active > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      this.server.closeIdleConnections();
    }
    const cut = this.active;
    this.server.closeAllConnections();
    await closed;
    // A cut socket reports its close a loop turn after the server's: wait for those exchanges to
    // end, so that their request lines are written too.
    const settleBy = Date.now() + 1000;
    while (this.active > 0 && Date.now() < settleBy) await new Promise((r) => setTimeout(r, 5));
    this.loader?.stop();
    for (const q of this.env.holds) q.close();
    await this.sampler?.close();
    await this.publisher?.stop();
    for (const u of this.ownUpstreams) u.destroy();
    this.requestLog.flush();
    this.log.info({ cutStreams: cut }, 'routing proxy stopped');
    flushLogger(this.log);
  }

  /** Every request enters here: nothing its handling throws gets past {@link fail}. */
  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    try {
      if (path === '/v1/chat/completions' || path === '/v1/completions') {
        if (req.method !== 'POST') return answerMethodNotAllowed(res, 'POST');
        return this.generate(req, res, path === '/v1/chat/completions' ? 'chat' : 'completions', path);
      }
      this.ops.serve(req, res, path, (err) => this.fail(res, err, path));
    } catch (err) {
      this.fail(res, err, path);
    }
  }

  /** Ends one request after an error inside the proxy (see guard.ts); its exchange, if any, ends it itself. */
  private fail(res: http.ServerResponse, err: unknown, path: string, requestId?: string, state?: ReqState): void {
    failRequest(res, err, {
      log: this.log,
      path,
      requestId,
      handOff: state ? (e) => state.exchange?.internalFailure(e) ?? false : undefined,
      onAnswered: () => this.metrics.proxy5xx.inc(),
    });
  }

  private generate(req: http.IncomingMessage, res: http.ServerResponse, endpoint: Endpoint, path: string): void {
    const startedAt = this.now();
    const rid = this.ids.next(req.headers['x-request-id']);
    // Authentication comes first: an unauthenticated body is never read.
    if (!this.auth.checkOn(req.socket, req.headers.authorization)) {
      answerUnauthorized(res, rid);
      this.logRejected(rid, path, 401);
      return;
    }
    const ct = req.headers['content-type'];
    if (typeof ct !== 'string' || !/^application\/json\s*(;|$)/i.test(ct)) {
      this.reject(res, rid, path, UNSUPPORTED_MEDIA_TYPE, true);
      return;
    }
    const limit = this.config.limits.maxBodyBytes;
    const cl = req.headers['content-length'];
    if (cl !== undefined && Number(cl) > limit) {
      this.reject(res, rid, path, tooLarge(limit), true);
      return;
    }
    this.active++;
    const state: ReqState = { gone: false };
    res.once('close', () => {
      this.active--;
      if (res.writableFinished) return;
      state.gone = true;
      try {
        state.scoring?.abort(new Error('client closed the connection'));
        state.exchange?.clientClosed();
      } catch (err) {
        this.fail(res, err, path, rid, state);
      }
    });
    readBody(req, limit, {
      onTooLarge: () => {
        try {
          this.reject(res, rid, path, tooLarge(limit), true);
        } catch (err) {
          this.fail(res, err, path, rid, state);
        }
      },
      onBody: (raw) => {
        if (state.gone) return;
        this.afterBody(req, res, endpoint, path, raw, rid, startedAt, state).catch((err: unknown) => this.fail(res, err, path, rid, state));
      },
    });
  }

  private async afterBody(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    endpoint: Endpoint,
    path: string,
    raw: Buffer,
    rid: string,
    startedAt: number,
    state: ReqState,
  ): Promise<void> {
    const parsed = parseJsonBody(raw, this.config.limits);
    if (!parsed.ok) {
      this.reject(res, rid, path, parsed.error);
      return;
    }
    const body = parsed.body as Record<string, unknown>;
    const invalid = validateBody(endpoint, body);
    if (invalid) {
      this.reject(res, rid, path, invalid);
      return;
    }
    const stream = body.stream === true;
    const so = body.stream_options as { include_usage?: unknown } | null | undefined;
    const clientWantsUsage = stream && !!so && so.include_usage === true;
    const tierHeader = this.config.allowTierOverride ? req.headers['x-route-tier'] : undefined;
    const rule = routePrecedence({ model: body.model, tierHeader, sessionHeader: req.headers['x-session-id'] }, this.tierNames);
    let decision: RouteDecision;
    let sessionId: string | undefined;
    let shadow: RouteDecision | undefined; // shadow mode: the router's own decision
    if (rule.kind === 'reject') {
      this.reject(res, rid, path, rule.error);
      return;
    } else if (rule.kind === 'chosen') {
      decision = rule.decision;
    } else {
      sessionId = rule.sessionId;
      const d = await this.router.decide(endpoint, body, sessionId, state, rid);
      if (d === undefined) return; // client left while scoring
      decision = d;
      if (this.shadowServeTier !== undefined) {
        shadow = d;
        decision = shadowServe(d, this.shadowServeTier);
        this.metrics.shadow.decisions[d.tier].inc();
      }
    }
    if (state.gone) return;
    const modelNamed = rule.kind === 'chosen' && rule.modelNamed;
    const routed: RoutedRequest = { requestId: rid, path, body, raw: parsed.raw, stream, clientWantsUsage, modelNamed, decision, startedAt };
    const record = new DecisionRecord(decision, rid, this.tierNames.names, this.boundaries, shadow);
    const ex = new Exchange(this.env, routed, res, record);
    ex.sessionId = sessionId;
    if (this.sampler) ex.capture = this.sampler.consider(endpoint, record, rule.kind === 'score');
    state.exchange = ex;
    ex.run();
  }

  private exchangeDone(ex: ExchangeResult): void {
    const sessionId = ex.sessionId;
    if (sessionId !== undefined && ex.servedTier !== undefined && (ex.outcome === 'ok' || ex.outcome === 'passthrough')) {
      // Shadow mode pins the router's decision: the serve tier would make every later one `session`.
      this.sessions.record(sessionId, ex.record.shadow?.tier ?? ex.servedTier, this.now());
    }
    if (ex.status >= 500) this.metrics.proxy5xx.inc();
    this.requestLog.add(ex);
    if (ex.capture !== undefined && this.sampler) compareLater(this.sampler, ex, this.log);
  }

  private reject(res: http.ServerResponse, rid: string, path: string, e: ApiError, close = false): void {
    if (e.status >= 500) this.metrics.proxy5xx.inc();
    sendError(res, e, ['x-request-id', rid], close);
    this.logRejected(rid, path, e.status, e.code ?? undefined, e.param ?? undefined);
  }

  private logRejected(requestId: string, path: string, status: number, code?: string, param?: string): void {
    this.log.info({ requestId, path, status, code, param }, 'request rejected');
  }
}
