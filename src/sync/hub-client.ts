// HTTP client for a hub (the sync protocol of protocol/sync.ts), on undici. Guarantees: every
// request carries `Heph-Protocol` and `Heph-Replica: <origin>` (and a bearer token when a
// provider gives one), and every pull `Heph-Own-High` when the replica holds own ops (so the hub
// leaves them out); every reply is `unknown` until a protocol parser accepts it; a failure becomes exactly
// one HephError, translated here and nowhere else: an unreachable hub (refused, reset, timed
// out, unknown name) is 'unavailable' with `details.offline = true`, 401/403 are
// 'unauthorized'/'forbidden', 409 is 'protocol_mismatch', other statuses carry the hub's own
// message. A plain-http hub off loopback is refused unless `insecureHttp` is set, because a
// bearer token must not cross a network in the clear. Tokens never appear in errors or logs.
// Every request asks for a br or gzip reply; a request body is compressed only when the hub's
// last reply said it reads that coding (its Accept-Encoding, RFC 7694), and sent again plain
// once if a hub that no longer says so refuses it (a hub downgraded under a running device).

import { createRequire } from 'node:module';
import type { Agent, Dispatcher, request as undiciRequest } from 'undici';
import type { z } from 'zod';
import { isLoopbackHost } from '../auth/url-policy.js';
import { HephError, type ErrorCode } from '../core/errors.js';
import type { Op } from '../core/op.js';
import { decodeWireOp, encodeWireOp } from '../protocol/op-wire.js';
import type { Clock } from '../ports/clock.js';
import { isErrorCode } from '../protocol/error-wire.js';
import {
  compactOps,
  HEADER_CURSOR_OP,
  HEADER_OWN_HIGH,
  HEADER_PROTOCOL,
  HEADER_DEVICE_FACTS,
  HEADER_REPLICA,
  encodeDeviceFacts,
  type DeviceFactsWire,
  HubConfig,
  HubError,
  HubHealth,
  PROTOCOL_VERSION,
  SUPPORTED_PROTOCOLS,
  WirePullResponse,
  PushResponse,
  type PullResponse,
  type ReplicaInfo,
} from '../protocol/sync.js';
import {
  ACCEPT_ENCODING,
  decode,
  encode,
  MIN_ENCODED_BYTES,
  negotiate,
  parseContentEncoding,
  type Coding,
} from '../transport/http-encoding.js';
import { whenSent } from './request-sent.js';

/**
 * The most a compressed reply may decode to. A pull page holds at most MAX_PULL_PAGE_CHARS of op
 * text; /rpc replies (an export page, a history) stay well under this.
 */
export const MAX_DECODED_REPLY_BYTES = 256 * 1024 * 1024;

export interface HubClientOptions {
  /** Base URL of the hub, e.g. https://hub.example.org or http://127.0.0.1:8787. */
  url: string;
  /** This replica's id (sent as Heph-Replica and in every push). */
  origin: string;
  /** The highest id among this replica's own ops (sent with every pull). */
  ownHigh?: () => string | undefined;
  /** Describes this replica to the hub in pushes. */
  replica?: Omit<ReplicaInfo, 'id'>;
  /** The machine's facts, sent (Heph-Device-Facts) until a request with them succeeds. */
  facts?: DeviceFactsWire;
  /** Own ops not yet acknowledged; each push reports those left after it (`replica.pending`). */
  pending?: () => number;
  /** Allow plain http to a host that is not loopback. */
  insecureHttp?: boolean;
  /** Bearer token for each request; undefined sends none (an open hub). Sign-in comes later. */
  getToken?: () => Promise<string | undefined>;
  /** Budget for a request beyond any long-poll wait, ms (default 30 s). */
  timeoutMs?: number;
  /** Reads the local clock when a reply arrives, to estimate the hub's clock offset. */
  clock?: Clock;
  /** For tests: an undici dispatcher to use instead of the client's own pool. */
  dispatcher?: Dispatcher;
  /** Called whenever the hub answers (any status): it is reachable. */
  onReply?: () => void;
  /** Most bytes a compressed reply may decode to (default MAX_DECODED_REPLY_BYTES). */
  maxReplyBytes?: number;
}

/** A pull page as the hub sent it (SyncTransport.pullSent). */
export interface SentPage extends Omit<PullResponse, 'ops'> {
  /** The ops in their wire form (protocol 4 sends field sets as arrays). */
  ops: unknown[];
  /** One op decoded from its wire form; throws protocol_mismatch when it is malformed. */
  decode: (raw: unknown) => unknown;
}

/** The subset of the client that syncOnce uses (tests wrap or fake it). */
export interface SyncTransport {
  push(ops: readonly Op[], signal?: AbortSignal): Promise<PushResponse>;
  pull(
    after: string | undefined,
    limit?: number,
    wait?: number,
    signal?: AbortSignal,
    afterOp?: string,
  ): Promise<PullResponse>;
  /**
   * A pull page with its ops as the hub sent them, and `decode`, which turns one into an op (or
   * throws protocol_mismatch, as pull does for the page): for a caller that decodes each op just
   * before applying it. Optional: a transport without it is read through `pull`.
   */
  pullSent?(
    after: string | undefined,
    limit?: number,
    wait?: number,
    signal?: AbortSignal,
    afterOp?: string,
    onSent?: () => void,
  ): Promise<SentPage>;
  /** local clock − hub clock (ms) from the last reply's Date header, or undefined. */
  clockOffsetMs(): number | undefined;
}

interface ExchangeOptions {
  /** The JSON body, or how to make it for the protocol the request is sent in. */
  body?: unknown;
  bodyFor?: (protocol: number) => unknown;
  signal?: AbortSignal | undefined;
  waitMs?: number;
  headers?: Record<string, string>;
  /** Called once the request is written to the socket (or has settled without that). */
  onSent?: (() => void) | undefined;
}

const requireCjs = createRequire(import.meta.url);

/**
 * undici's `request`, for the calls this client makes (a URL, options naming the dispatcher),
 * loaded without undici's index: that loads every part of undici (fetch, websockets, caches,
 * mocks), about 0.1 s of CPU at a new device's first sync. undici is loaded on the first request
 * (a daemon may never need it).
 */
function lightRequest(
  url: URL,
  opts: { dispatcher: Dispatcher; method?: string } & Record<string, unknown>,
): Promise<Dispatcher.ResponseData> {
  const request = requireCjs('undici/lib/api/api-request.js') as (
    this: Dispatcher,
    o: Record<string, unknown>,
  ) => Promise<Dispatcher.ResponseData>;
  const { dispatcher, ...rest } = opts;
  return request.call(dispatcher, {
    ...rest,
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: rest.method ?? 'GET',
  });
}

/** Whether a hub URL may be used: http(s) only, and plain http only on loopback or if allowed. */
export function checkHubUrl(raw: string, insecureHttp = false): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HephError('invalid_params', `hub URL ${JSON.stringify(raw)} is not a URL`, {
      field: 'hub_url',
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new HephError(
      'invalid_params',
      `hub URL must start with https:// (got ${url.protocol})`,
      {
        field: 'hub_url',
      },
    );
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !insecureHttp) {
    throw new HephError(
      'invalid_params',
      `refusing plain http to ${url.host}: sign-in tokens would cross the network unencrypted. ` +
        'Use https://, or pass --insecure-http (HEPH_INSECURE_HTTP=1) if you accept that risk',
      { field: 'hub_url' },
    );
  }
  return url;
}

const OFFLINE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

function errnoOf(e: unknown): string | undefined {
  for (let cur = e, depth = 0; cur && depth < 4; depth++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && OFFLINE_CODES.has(c)) return c;
    const errors = (cur as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      for (const inner of errors) {
        const ic = (inner as { code?: unknown }).code;
        if (typeof ic === 'string' && OFFLINE_CODES.has(ic)) return ic;
      }
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True for the error an unreachable hub gives (normal for a laptop on a train). */
export function isOffline(e: unknown): boolean {
  return e instanceof HephError && e.code === 'unavailable' && e.details.offline === true;
}

export class HubClient implements SyncTransport {
  readonly url: URL;
  /** undici's request and the agent, loaded on the first request (see lightRequest). */
  private http: Promise<{ request: typeof undiciRequest; dispatcher: Dispatcher }> | undefined;
  private own: Agent | undefined;
  private readonly timeoutMs: number;
  private offset: number | undefined;
  /** The coding the hub said (in its last reply) that it reads in request bodies. */
  private requestCoding: Coding | undefined;
  /**
   * The sync protocol requests are sent in: this version's, until a hub refuses it with the
   * versions it serves; then the highest of those this device speaks too (an older hub).
   */
  private protocolVersion = PROTOCOL_VERSION;

  private origin: string;
  /** The facts reached the hub (once per process: each daemon start reports them). */
  private factsSent = false;

  constructor(private readonly opts: HubClientOptions) {
    this.url = checkHubUrl(opts.url, opts.insecureHttp ?? false);
    this.origin = opts.origin;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private undici(): Promise<{ request: typeof undiciRequest; dispatcher: Dispatcher }> {
    this.http ??= Promise.resolve().then(() => {
      const request = lightRequest as unknown as typeof undiciRequest;
      if (this.opts.dispatcher) return { request, dispatcher: this.opts.dispatcher };
      const AgentClass = requireCjs('undici/lib/dispatcher/agent.js') as typeof Agent;
      this.own = new AgentClass({ connectTimeout: this.timeoutMs, keepAliveTimeout: 10_000 });
      return { request, dispatcher: this.own };
    });
    return this.http;
  }

  /** The sync protocol this client speaks with its hub (lower once an older hub refused). */
  get protocol(): number {
    return this.protocolVersion;
  }

  /** The replica id sent from now on (the store took a new one: a re-enrolled device). */
  setOrigin(origin: string): void {
    this.origin = origin;
  }

  async push(ops: readonly Op[], signal?: AbortSignal): Promise<PushResponse> {
    // What stays unsent once this batch is acknowledged (the batch is part of the count).
    const unsent = this.opts.pending?.();
    const pending = unsent === undefined ? undefined : Math.max(0, unsent - ops.length);
    // From PROTOCOL_COMPACT_OPS on, field sets travel in their compact form (op-wire.ts).
    const bodyFor = (protocol: number) => ({
      replica: {
        ...this.opts.replica,
        id: this.origin,
        ...(pending !== undefined && { pending }),
      },
      ops: compactOps(protocol) ? ops.map(encodeWireOp) : ops,
    });
    return this.send('POST', '/sync/push', PushResponse, { bodyFor, signal });
  }

  /**
   * `afterOp`: the `cursor_op` the hub named with `after` ('' for none yet), sent as
   * Heph-Cursor-Op so a hub restored from an older copy refuses a cursor it no longer means;
   * the reply then names its own cursor's op. Left out, neither is sent.
   */
  async pull(
    after: string | undefined,
    limit?: number,
    wait?: number,
    signal?: AbortSignal,
    afterOp?: string,
  ): Promise<PullResponse> {
    const { ops, decode, ...page } = await this.pullSent(after, limit, wait, signal, afterOp);
    return { ...page, ops: ops.map(decode) as Record<string, unknown>[] };
  }

  /** `onSent` is called once the request is written (or has settled without that): see
   *  request-sent.ts. */
  async pullSent(
    after: string | undefined,
    limit?: number,
    wait?: number,
    signal?: AbortSignal,
    afterOp?: string,
    onSent?: () => void,
  ): Promise<SentPage> {
    const q = new URLSearchParams();
    if (after !== undefined) q.set('after', after);
    if (limit !== undefined) q.set('limit', String(limit));
    if (wait !== undefined && wait > 0) q.set('wait', String(wait));
    const qs = q.toString();
    const ownHigh = this.opts.ownHigh?.();
    const path = `/sync/pull${qs ? `?${qs}` : ''}`;
    const headers: Record<string, string> = {};
    if (ownHigh !== undefined) headers[HEADER_OWN_HIGH] = ownHigh;
    if (afterOp !== undefined) headers[HEADER_CURSOR_OP] = after === undefined ? '' : afterOp;
    const page = await this.send('GET', path, WirePullResponse, {
      signal,
      waitMs: (wait ?? 0) * 1000,
      headers,
      onSent,
    });
    return { ...page, decode: this.decodeSent };
  }

  /** An op of a pull page, decoded from its wire form; protocol_mismatch when it is malformed. */
  private readonly decodeSent = (raw: unknown): unknown => {
    try {
      return decodeWireOp(raw);
    } catch (e) {
      throw new HephError(
        'protocol_mismatch',
        `hub at ${this.url.host} sent a malformed op: ${(e as Error).message}`,
        { path: '/sync/pull' },
      );
    }
  };

  async config(signal?: AbortSignal): Promise<HubConfig> {
    return this.send('GET', '/config', HubConfig, { signal });
  }

  async health(signal?: AbortSignal): Promise<HubHealth> {
    return this.send('GET', '/healthz', HubHealth, { signal });
  }

  /** Sends one JSON-RPC message to the hub's /rpc; returns its (unvalidated) JSON reply. */
  async rpc(message: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.exchange('POST', '/rpc', { body: message, signal });
  }

  /** POSTs a JSON body (or none) to a path such as /auth/enroll; its (unvalidated) JSON reply. */
  async post(path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.exchange('POST', path, { body, signal });
  }

  clockOffsetMs(): number | undefined {
    return this.offset;
  }

  async close(): Promise<void> {
    // Whatever is still in flight was aborted by its owner; do not wait on a held long-poll.
    await this.own?.destroy();
  }

  private async send<T>(
    method: 'GET' | 'POST',
    path: string,
    schema: z.ZodType<T>,
    o: ExchangeOptions,
  ): Promise<T> {
    const json = await this.exchange(method, path, o);
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HephError(
        'protocol_mismatch',
        `hub at ${this.url.host} sent a malformed reply to ${method} ${path.split('?')[0]}: ` +
          `${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
        { path },
      );
    }
    return parsed.data;
  }

  /** One request; the reply's JSON for a 2xx, a translated HephError otherwise. */
  private async exchange(
    method: 'GET' | 'POST',
    path: string,
    o: ExchangeOptions,
  ): Promise<unknown> {
    for (;;) {
      const protocol = this.protocolVersion;
      try {
        return await this.exchangeIn(protocol, method, path, o);
      } catch (e) {
        if (!this.fallBack(protocol, e)) throw e;
      }
    }
  }

  /**
   * After a 409 naming the versions the hub serves: moves to the highest of them this device
   * speaks, below the one refused. Returns whether the request is worth sending again.
   */
  private fallBack(refused: number, e: unknown): boolean {
    if (!(e instanceof HephError) || e.code !== 'protocol_mismatch' || e.details.status !== 409) {
      return false;
    }
    const served = e.details.supported;
    if (!Array.isArray(served)) return false;
    const both = SUPPORTED_PROTOCOLS.filter((n) => served.includes(n) && n < refused);
    const best = both.at(-1);
    if (best === undefined) return false;
    // Another request may have moved already; never move back up.
    this.protocolVersion = Math.min(this.protocolVersion, best);
    return true;
  }

  private async exchangeIn(
    protocol: number,
    method: 'GET' | 'POST',
    path: string,
    o: ExchangeOptions,
  ): Promise<unknown> {
    const target = new URL(path, this.url);
    const headers: Record<string, string> = {
      [HEADER_PROTOCOL]: String(protocol),
      [HEADER_REPLICA]: this.origin,
      accept: 'application/json',
      'accept-encoding': ACCEPT_ENCODING,
      ...o.headers,
    };
    const facts = this.factsSent || !this.opts.facts ? undefined : this.opts.facts;
    if (facts) headers[HEADER_DEVICE_FACTS] = encodeDeviceFacts(facts);
    const token = await this.opts.getToken?.();
    if (token) headers.authorization = `Bearer ${token}`;
    const json = o.bodyFor ? o.bodyFor(protocol) : o.body;
    const text = json === undefined ? undefined : JSON.stringify(json);
    if (text !== undefined) headers['content-type'] = 'application/json';
    let coding =
      text !== undefined && text.length >= MIN_ENCODED_BYTES ? this.requestCoding : undefined;
    for (;;) {
      const body = text === undefined || coding === undefined ? text : await encode(text, coding);
      const res = await this.request(
        method,
        target,
        { ...headers, ...(coding && { 'content-encoding': coding }) },
        body,
        o,
      );
      // A hub that no longer reads the coding (replaced by an older version meanwhile) refused
      // a body it could not read: send it once more as it is.
      if (
        coding !== undefined &&
        (res.status === 400 || res.status === 415) &&
        this.requestCoding !== coding
      ) {
        coding = undefined;
        continue;
      }
      if (res.status >= 300) throw this.statusError(res.status, res.json, res.text);
      if (facts) this.factsSent = true;
      if (res.status === 204) return undefined;
      if (res.json === undefined) {
        throw new HephError(
          'protocol_mismatch',
          `hub at ${this.url.host} sent a reply that is not JSON`,
          {
            path,
          },
        );
      }
      return res.json;
    }
  }

  /** Sends one request and reads its reply, decoded; learns the codings the hub reads. */
  private async request(
    method: 'GET' | 'POST',
    target: URL,
    headers: Record<string, string>,
    body: string | Buffer | undefined,
    o: ExchangeOptions,
  ): Promise<{ status: number; json: unknown; text: string }> {
    const budget = this.timeoutMs + (o.waitMs ?? 0);
    let res: Dispatcher.ResponseData;
    const sent =
      o.onSent && whenSent(method, target.origin, `${target.pathname}${target.search}`, o.onSent);
    try {
      const { request, dispatcher } = await this.undici();
      res = await request(target, {
        method,
        headers,
        dispatcher,
        headersTimeout: budget,
        bodyTimeout: budget,
        ...(body !== undefined && { body }),
        ...(o.signal && { signal: o.signal }),
      });
    } catch (e) {
      throw this.translate(e, o.signal);
    } finally {
      sent?.();
    }
    this.opts.onReply?.();
    this.requestCoding = negotiate(res.headers['accept-encoding']);
    const date = res.headers.date;
    if (typeof date === 'string' && this.opts.clock) {
      const hub = Date.parse(date);
      if (Number.isFinite(hub)) this.offset = this.opts.clock.now() - hub;
    }
    let text: string;
    try {
      const coding = this.replyCoding(res.headers['content-encoding']);
      if (coding === undefined) text = await res.body.text();
      else {
        const raw = Buffer.from(await res.body.arrayBuffer());
        const what = `the reply of the hub at ${this.url.host}`;
        const limit = this.opts.maxReplyBytes ?? MAX_DECODED_REPLY_BYTES;
        text = (await decode(raw, coding, limit, what)).toString('utf8');
      }
    } catch (e) {
      // A reply not valid in its coding is the hub's fault, not this request's.
      if (e instanceof HephError && e.code === 'invalid_params') {
        throw new HephError('protocol_mismatch', `hub at ${this.url.host}: ${e.message}`);
      }
      throw this.translate(e, o.signal);
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, json, text };
  }

  private replyCoding(header: string | string[] | undefined): Coding | undefined {
    try {
      return parseContentEncoding(header);
    } catch (e) {
      throw new HephError(
        'protocol_mismatch',
        `hub at ${this.url.host} sent a reply in a coding this device does not read: ${(e as Error).message}`,
      );
    }
  }

  private translate(e: unknown, signal: AbortSignal | undefined): HephError {
    if (e instanceof HephError) return e;
    const where = this.url.host;
    if (signal?.aborted) {
      return new HephError('unavailable', `request to the hub at ${where} was cancelled`, {
        aborted: true,
      });
    }
    const code = errnoOf(e);
    if (code !== undefined) {
      return new HephError('unavailable', `hub at ${where} is unreachable (${code})`, {
        offline: true,
        cause: code,
      });
    }
    return new HephError('unavailable', `hub at ${where} is unreachable: ${(e as Error).message}`, {
      offline: true,
    });
  }

  private statusError(status: number, json: unknown, text: string): HephError {
    const parsed = HubError.safeParse(json);
    const hubCode = parsed.success ? parsed.data.error.code : undefined;
    const hubMessage = parsed.success
      ? parsed.data.error.message
      : text.slice(0, 200).trim() || `HTTP ${status}`;
    const where = `hub at ${this.url.host}`;
    const details = { status, ...(hubCode !== undefined && { hub_code: hubCode }) };
    if (status === 401) {
      return new HephError('unauthorized', `${where} needs sign-in: ${hubMessage}`, details);
    }
    if (status === 403) {
      return new HephError('forbidden', `${where} refused this device: ${hubMessage}`, details);
    }
    if (status === 409 && (hubCode === undefined || hubCode === 'protocol_mismatch')) {
      const supported = parsed.success ? parsed.data.error.supported : undefined;
      return new HephError(
        'protocol_mismatch',
        `${where} speaks another protocol version: ${hubMessage}`,
        { ...details, ...(Array.isArray(supported) && { supported }) },
      );
    }
    let code: ErrorCode;
    if (isErrorCode(hubCode)) code = hubCode;
    else if (status === 413) code = 'too_large';
    else if (status === 400 || status === 422) code = 'invalid_params';
    else if (status === 404) code = 'not_found';
    else if (status === 502 || status === 503 || status === 504) code = 'unavailable';
    else code = 'internal';
    return new HephError(code, `${where}: ${hubMessage}`, details);
  }
}
