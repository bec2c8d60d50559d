/**
 * The routing proxy's HTTP server: OpenAI-compatible endpoints, authentication before the body is
 * read, body limits, routing, dispatch, health, readiness and metrics.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Logger } from 'pino';
import { ApiKeyChecker } from './auth';
import { parseJsonBody, readBody, tooLarge } from './body';
import { CircuitBreaker } from './breaker';
import { AUTO_MODEL, OPS_PATHS, effectiveNamespace, exemplarsFile, fallbackTierIndex, tierBoundaries, type ProxyConfig } from './config';
import { Exchange, type DispatchEnv, type RoutedRequest, type TierRuntime } from './dispatch';
import { errorBody, invalidRequest, sendError, type ApiError } from './errors';
import { failRequest } from './guard';
import { createLogger, flushLogger, logOptions } from './log';
import type { CloudWatchPublisher } from './metrics/cloudwatch';
import { renderPrometheus } from './metrics/prometheus';
import { ProxyMetrics, fallbackDimension } from './metrics/registry';
import { directPrivateCaller } from './ops-access';
import { fallbackReason, type DecisionPolicy, type RouteDecision } from './routing/decide';
import { buildHeuristic, type Heuristic } from './routing/heuristics';
import { scoreText, type ScoringBackends, type ScoringOptions } from './routing/router';
import { chatTextToScore, completionTextToScore } from './routing/text';
import { CentroidLoader, EmbeddingClient, ScorerClient, loadExemplars, scoringBackends } from './scoring';
import { SessionStore } from './sessions';
import { Upstream, type HealthResult } from './upstream';
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
}

/** A running proxy. */
export interface ProxyHandle {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets streams finish up to `server.shutdownGraceMs`, flushes metrics. */
  close(): Promise<void>;
}

const JSON_HEADERS = ['content-type', 'application/json'];

/** Starts the proxy on `config.host:config.port` (port 0 picks a free one). */
export async function startProxy(config: ProxyConfig, deps: ProxyDeps = {}): Promise<ProxyHandle> {
  const proxy = new RoutingProxy(config, deps);
  return proxy.listen();
}

interface ReqState {
  exchange?: Exchange;
  scoring?: AbortController;
  gone: boolean;
}

class RoutingProxy {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly metrics: ProxyMetrics;
  private readonly tiers: TierRuntime[];
  private readonly modelIndex = new Map<string, number>();
  private readonly nameIndex = new Map<string, number>();
  private readonly auth: ApiKeyChecker;
  private readonly sessions: SessionStore;
  private readonly heuristic: Heuristic;
  private readonly policy: DecisionPolicy;
  private readonly scoringOpts: ScoringOptions;
  private readonly backends: ScoringBackends;
  private readonly loader: CentroidLoader | undefined;
  private readonly embeddingUpstream: Upstream;
  private readonly scorerUpstream: Upstream;
  private readonly ownUpstreams: Upstream[] = [];
  private readonly publisher: CloudWatchPublisher | undefined;
  private readonly env: DispatchEnv;
  private readonly server: http.Server;
  private readonly modelsBody: string;
  private readonly ridPrefix = randomBytes(4).toString('hex');
  private ridCounter = 0;
  private active = 0;
  private closing: Promise<void> | undefined;
  /** Request lines of finished exchanges, written once this turn's reads are handled. */
  private pendingLines: Array<{ warn: boolean; line: Record<string, unknown> }> = [];
  private linesQueued = false;
  private readyCache: { at: number; body: Record<string, unknown>; ok: boolean } | undefined;
  private readyInFlight: Promise<{ body: Record<string, unknown>; ok: boolean }> | undefined;

  constructor(private readonly config: ProxyConfig, deps: ProxyDeps) {
    this.log = deps.logger ?? createLogger(logOptions(config));
    this.now = deps.now ?? (() => performance.now());
    this.metrics = new ProxyMetrics(config.tiers);
    this.tiers = config.tiers.map((cfg, index) => {
      const upstream = new Upstream(cfg.baseUrl, cfg.maxSockets, config.dispatch.upstreamKeepAliveMs);
      this.ownUpstreams.push(upstream);
      this.modelIndex.set(cfg.model, index);
      this.nameIndex.set(cfg.name, index);
      return { index, cfg, upstream, breaker: new CircuitBreaker(config.dispatch.breaker), metrics: this.metrics.tiers[index] };
    });
    this.auth = new ApiKeyChecker(config.apiKeys, config.allowUnauthenticated);
    this.sessions = new SessionStore(config.sessions.ttlSeconds * 1000, config.sessions.maxEntries);
    const r = config.router;
    this.heuristic = buildHeuristic(r.keywords);
    this.policy = {
      boundaries: tierBoundaries(config),
      embeddingWeight: r.embeddingWeight,
      ratingWeight: r.ratingWeight,
      fastPathMargin: r.fastPathMargin,
      keywordPolicy: r.keywordPolicy,
      keywordBias: r.keywordBias,
      fallbackTier: fallbackTierIndex(config),
    };
    this.scoringOpts = { embeddingTimeoutMs: r.embedding.timeoutMs, scorerTimeoutMs: r.scorer.timeoutMs, embeddingScale: r.embeddingScale };
    const embedding = new EmbeddingClient(r.embedding, config.dispatch.upstreamKeepAliveMs);
    const scorer = new ScorerClient(r.scorer, config.dispatch.upstreamKeepAliveMs);
    this.embeddingUpstream = embedding.upstream;
    this.scorerUpstream = scorer.upstream;
    this.ownUpstreams.push(embedding.upstream, scorer.upstream);
    if (deps.scoring) {
      this.backends = deps.scoring;
    } else {
      this.loader = new CentroidLoader(embedding, loadExemplars(exemplarsFile(config)), r.embedding.batchSize, r.centroidRetryMaxMs, this.log);
      this.backends = scoringBackends(embedding, scorer, this.loader);
    }
    if (config.metrics.enabled || deps.cloudwatch) {
      // Loaded on demand: the AWS SDK costs ~16 MB of RSS that a run without CloudWatch does not need.
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { CloudWatchClient: Client } = require('@aws-sdk/client-cloudwatch') as typeof import('@aws-sdk/client-cloudwatch');
      const { CloudWatchPublisher: Publisher } = require('./metrics/cloudwatch') as typeof import('./metrics/cloudwatch');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const client = deps.cloudwatch ?? new Client(config.metrics.region ? { region: config.metrics.region } : {});
      this.publisher = new Publisher(client, this.metrics, this.log, {
        namespace: effectiveNamespace(config),
        flushIntervalMs: config.metrics.flushIntervalMs,
        pendingSampleMs: config.metrics.pendingSampleMs,
      });
    }
    this.env = {
      tiers: this.tiers,
      dispatch: config.dispatch,
      now: this.now,
      onDone: (ex) => this.exchangeDone(ex),
    };
    this.modelsBody = JSON.stringify({
      object: 'list',
      data: [AUTO_MODEL, ...config.tiers.map((t) => t.model)].map((id) => ({ id, object: 'model', created: 0, owned_by: 'llm-tier-router' })),
    });
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
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => clientError(err, socket));
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
    await this.publisher?.stop();
    for (const u of this.ownUpstreams) u.destroy();
    this.writeRequestLines();
    this.log.info({ cutStreams: cut }, 'routing proxy stopped');
    flushLogger(this.log);
  }

  private requestId(req: http.IncomingMessage): string {
    const h = req.headers['x-request-id'];
    if (typeof h === 'string' && h.length > 0 && h.length <= 128 && /^[\w.:\-]+$/.test(h)) return h;
    return `${this.ridPrefix}-${(++this.ridCounter).toString(36)}`;
  }

  /** Every request enters here: nothing its handling throws gets past {@link fail}. */
  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    try {
      this.serve(req, res);
    } catch (err) {
      this.fail(res, err, req.url ?? '/');
    }
  }

  /** Ends one request after an error inside the proxy (see guard.ts). */
  private fail(res: http.ServerResponse, err: unknown, path: string, requestId?: string, state?: ReqState): void {
    failRequest(res, err, {
      log: this.log,
      path,
      requestId,
      handOff: state ? (e) => state.exchange?.internalFailure(e) ?? false : undefined,
      onAnswered: () => this.metrics.proxy5xx.inc(),
    });
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (path === '/v1/chat/completions' || path === '/v1/completions') {
      if (method !== 'POST') return this.methodNotAllowed(res, 'POST');
      return this.generate(req, res, path === '/v1/chat/completions' ? 'chat' : 'completions', path);
    }
    if (method !== 'GET' && method !== 'HEAD') {
      if (path === '/healthz' || path === OPS_PATHS.readiness || path === OPS_PATHS.metrics || path === '/v1/models') return this.methodNotAllowed(res, 'GET');
    }
    switch (path) {
      case '/healthz':
        res.writeHead(200, ['content-type', 'application/json', 'cache-control', 'no-store']);
        res.end('{"status":"ok"}');
        return;
      case OPS_PATHS.readiness:
        if (!this.opsAllowed(req)) return this.unauthorized(res);
        this.readyz(res).catch((err: unknown) => this.fail(res, err, path));
        return;
      case OPS_PATHS.metrics: {
        if (!this.opsAllowed(req) || (this.config.metrics.prometheusRequiresAuth && !this.auth.check(req.headers.authorization))) return this.unauthorized(res);
        // Rendered before the head goes out, so a failure can still be answered with a 500.
        const text = renderPrometheus(this.metrics);
        res.writeHead(200, ['content-type', 'text/plain; version=0.0.4; charset=utf-8']);
        res.end(text);
        return;
      }
      case '/v1/models':
        if (!this.auth.check(req.headers.authorization)) return this.unauthorized(res);
        res.writeHead(200, JSON_HEADERS);
        res.end(this.modelsBody);
        return;
      default:
        sendError(res, { status: 404, message: `Unknown path ${path}.`, type: 'invalid_request_error', param: null, code: 'not_found' });
    }
  }

  /** `/readyz` and `/metrics`: open, or for a direct private caller, else with an API key (`opsAccess`). */
  private opsAllowed(req: http.IncomingMessage): boolean {
    return this.config.opsAccess === 'public' || directPrivateCaller(req) || this.auth.check(req.headers.authorization);
  }

  private methodNotAllowed(res: http.ServerResponse, allow: string): void {
    sendError(res, { status: 405, message: `Use ${allow} on this path.`, type: 'invalid_request_error', param: null, code: 'method_not_allowed' }, ['allow', allow]);
  }

  private unauthorized(res: http.ServerResponse, rid?: string): void {
    sendError(
      res,
      { status: 401, message: 'Incorrect or missing API key. Send it as "Authorization: Bearer <key>".', type: 'authentication_error', param: null, code: 'invalid_api_key' },
      rid ? ['www-authenticate', 'Bearer', 'x-request-id', rid] : ['www-authenticate', 'Bearer'],
      true,
    );
  }

  private generate(req: http.IncomingMessage, res: http.ServerResponse, endpoint: Endpoint, path: string): void {
    const startedAt = this.now();
    const rid = this.requestId(req);
    // Authentication comes first: an unauthenticated body is never read.
    if (!this.auth.check(req.headers.authorization)) {
      this.unauthorized(res, rid);
      this.logRejected(rid, path, 401);
      return;
    }
    const ct = req.headers['content-type'];
    if (typeof ct !== 'string' || !/^application\/json\s*(;|$)/i.test(ct)) {
      this.reject(res, rid, path, { status: 415, message: 'Send the body as application/json.', type: 'invalid_request_error', param: null, code: 'unsupported_media_type' }, true);
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
    raw = parsed.raw;
    const invalid = validateBody(endpoint, body);
    if (invalid) {
      this.reject(res, rid, path, invalid);
      return;
    }
    const stream = body.stream === true;
    const so = body.stream_options as { include_usage?: unknown } | null | undefined;
    const clientWantsUsage = stream && !!so && so.include_usage === true;
    const model = body.model;
    let modelNamed = false;
    let decision: RouteDecision;
    let sessionId: string | undefined;
    if (typeof model === 'string' && model !== '' && model !== AUTO_MODEL) {
      const idx = this.modelIndex.get(model);
      if (idx === undefined) {
        this.reject(res, rid, path, { status: 404, message: `The model '${model}' does not exist. Use "auto" or one of: ${this.config.tiers.map((t) => t.model).join(', ')}.`, type: 'invalid_request_error', param: 'model', code: 'model_not_found' });
        return;
      }
      modelNamed = true;
      decision = { tier: idx, score: undefined, reason: 'override' };
    } else {
      const override = this.config.allowTierOverride ? req.headers['x-route-tier'] : undefined;
      if (typeof override === 'string' && override !== '') {
        const idx = this.nameIndex.get(override);
        if (idx === undefined) {
          this.reject(res, rid, path, invalidRequest(`Unknown tier '${override}' in x-route-tier; tiers: ${this.config.tiers.map((t) => t.name).join(', ')}.`, 'x-route-tier', 'unknown_tier'));
          return;
        }
        decision = { tier: idx, score: undefined, reason: 'override' };
      } else {
        const sid = req.headers['x-session-id'];
        sessionId = typeof sid === 'string' && sid.length > 0 && sid.length <= 256 ? sid : undefined;
        const d = await this.route(endpoint, body, sessionId, state, rid);
        if (d === undefined) return; // client left while scoring
        decision = d;
      }
    }
    if (state.gone) return;
    const routed: RoutedRequest = { requestId: rid, path, body, raw, stream, clientWantsUsage, modelNamed, decision, startedAt };
    const headers = [
      'x-route-tier',
      this.tiers[decision.tier].cfg.name,
      'x-route-score',
      decision.score === undefined ? 'n/a' : decision.score.toFixed(3),
      'x-route-reason',
      decision.reason,
      'x-request-id',
      rid,
    ];
    const ex = new Exchange(this.env, routed, res, headers);
    ex.sessionId = sessionId;
    state.exchange = ex;
    await ex.run();
  }

  /** Scores the prompt and applies session stickiness; undefined when the client left meanwhile. */
  private async route(endpoint: Endpoint, body: Record<string, unknown>, sessionId: string | undefined, state: ReqState, rid: string): Promise<RouteDecision | undefined> {
    const last = this.tiers.length - 1;
    const pinned = sessionId !== undefined ? this.sessions.get(sessionId, this.now()) : undefined;
    if (pinned !== undefined && pinned >= last) return { tier: pinned, score: undefined, reason: 'session' };
    const max = this.config.router.truncateChars;
    const text = endpoint === 'chat' ? chatTextToScore(body.messages as unknown[], max) : completionTextToScore(body.prompt, max);
    let d: RouteDecision;
    if (text.trim() === '') {
      d = { tier: 0, score: 0, reason: 'score' };
    } else {
      const hit = this.config.router.keywordPolicy !== 'off' && this.heuristic.detect(text) !== undefined;
      const t0 = this.now();
      const ctl = new AbortController();
      state.scoring = ctl;
      let scored;
      try {
        scored = await scoreText(text, hit, this.policy, this.backends, this.scoringOpts, ctl.signal, rid);
      } catch (err) {
        // Scoring rejects when the client left; anything else is a failure of this request.
        if (state.gone) return undefined;
        throw err;
      } finally {
        state.scoring = undefined;
      }
      if (state.gone) return undefined;
      if (scored.scored) this.metrics.routerLatency.record(this.now() - t0);
      if (scored.score !== undefined && scored.scored) this.metrics.routeScore.record(scored.score);
      const why = fallbackReason(scored.reason);
      if (why) {
        const dim = fallbackDimension(why);
        if (dim) this.metrics.fallbacks[dim].inc();
      }
      d = { tier: scored.tier, score: scored.score, reason: scored.reason };
      if (this.config.logPrompts) this.log.debug({ requestId: rid, prompt: text, tier: d.tier, score: d.score, reason: d.reason }, 'scored prompt');
    }
    if (pinned !== undefined && pinned > d.tier) return { tier: pinned, score: d.score, reason: 'session' };
    return d;
  }

  private exchangeDone(ex: Exchange): void {
    const sessionId = ex.sessionId;
    if (sessionId !== undefined && ex.servedTier !== undefined && (ex.outcome === 'ok' || ex.outcome === 'passthrough')) {
      this.sessions.record(sessionId, ex.servedTier, this.now());
    }
    if (ex.status >= 500) this.metrics.proxy5xx.inc();
    const r = ex.r;
    const tier = ex.servedTier !== undefined ? this.tiers[ex.servedTier].cfg.name : undefined;
    const line = {
      requestId: r.requestId,
      path: r.path,
      status: ex.status,
      outcome: ex.outcome,
      tier,
      reason: r.decision.reason,
      score: r.decision.score,
      attempts: ex.attempts,
      stream: r.stream,
      ms: round1(this.now() - r.startedAt),
      ttftMs: ex.ttftMs === undefined ? undefined : round1(ex.ttftMs),
      promptTokens: ex.usage?.promptTokens,
      completionTokens: ex.usage?.completionTokens,
      failure: ex.lastFailure,
    };
    if (ex.outcome === 'internal-error') {
      // The request's one line, with the error that ended it.
      this.log.error({ ...line, err: ex.internalError instanceof Error ? ex.internalError : new Error(String(ex.internalError)) }, 'request failed inside the proxy');
      return;
    }
    const warn = !(ex.outcome === 'ok' || ex.outcome === 'passthrough' || ex.outcome === 'client-gone');
    // Formatting and buffering the line waits for the check phase: when many streams end in one
    // turn (and their clients send the next requests at once), relaying comes first.
    this.pendingLines.push({ warn, line });
    if (!this.linesQueued) {
      this.linesQueued = true;
      setImmediate(this.writeRequestLines);
    }
  }

  private readonly writeRequestLines = (): void => {
    this.linesQueued = false;
    const lines = this.pendingLines;
    if (lines.length === 0) return;
    this.pendingLines = [];
    for (const { warn, line } of lines) {
      if (warn) this.log.warn(line, 'request failed');
      else this.log.info(line, 'request');
    }
  };

  private reject(res: http.ServerResponse, rid: string, path: string, e: ApiError, close = false): void {
    if (e.status >= 500) this.metrics.proxy5xx.inc();
    sendError(res, e, ['x-request-id', rid], close);
    this.logRejected(rid, path, e.status, e.code ?? undefined, e.param ?? undefined);
  }

  private logRejected(requestId: string, path: string, status: number, code?: string, param?: string): void {
    this.log.info({ requestId, path, status, code, param }, 'request rejected');
  }

  private async readyz(res: http.ServerResponse): Promise<void> {
    const now = Date.now();
    let result: { body: Record<string, unknown>; ok: boolean };
    if (this.readyCache && now - this.readyCache.at < this.config.readiness.cacheMs) {
      result = this.readyCache;
    } else {
      this.readyInFlight ??= this.probe().finally(() => {
        this.readyInFlight = undefined;
      });
      result = await this.readyInFlight;
      this.readyCache = { at: Date.now(), ...result };
    }
    const body = JSON.stringify(result.body);
    res.writeHead(result.ok ? 200 : 503, ['content-type', 'application/json', 'cache-control', 'no-store']);
    res.end(body);
  }

  private async probe(): Promise<{ body: Record<string, unknown>; ok: boolean }> {
    const timeout = this.config.readiness.probeTimeoutMs;
    const now = this.now();
    const [tierResults, emb, scorer] = await Promise.all([
      Promise.all(this.tiers.map((t) => t.upstream.health(timeout))),
      this.embeddingUpstream.health(timeout),
      this.scorerUpstream.health(timeout),
    ]);
    const tiers: Record<string, unknown> = {};
    let anyTier = false;
    this.tiers.forEach((t, i) => {
      const h = tierResults[i];
      const usable = h.reachable && t.breaker.available(now);
      anyTier ||= usable;
      tiers[t.cfg.name] = { ...healthJson(h), breaker: t.breaker.state(now), inFlight: t.metrics.pending };
    });
    const centroids = this.loader?.status() ?? { ready: this.backends.centroids() !== undefined };
    return {
      ok: anyTier,
      body: {
        ready: anyTier,
        tiers,
        router: { embedding: { ...healthJson(emb), centroids }, scorer: healthJson(scorer) },
      },
    };
  }
}

function healthJson(h: HealthResult): Record<string, unknown> {
  return { reachable: h.reachable, ...(h.status !== undefined ? { status: h.status } : {}), ...(h.error ? { error: h.error } : {}) };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/** Answers parser-level errors (oversized headers, header timeouts) in the OpenAI error shape. */
function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = errorBody({
    message: status === 431 ? 'The request headers are too large.' : status === 408 ? 'The request took too long to arrive.' : 'Malformed HTTP request.',
    type: 'invalid_request_error',
    param: null,
    code: status === 431 ? 'headers_too_large' : status === 408 ? 'request_timeout' : 'bad_request',
  });
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
