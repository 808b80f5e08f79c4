// A real OpenID Provider (panva's `oidc-provider`) on 127.0.0.1 (or a given address) for tests:
// the device authorization grant, resource indicators (an access token requested for the hub's
// audience is an RFC 9068 JWT whose `aud` is that audience), a public CLI client, refresh tokens,
// short TTLs and in-memory storage owned by this harness.
//
//   const op = await startOidcProvider({ accessTokenTtlSec: 30 });
//   // ...point the code under test at op.issuer, op.audience, op.clientId...
//   await op.approveDeviceCode(userCode, 'alice'); // signs in as `alice` and consents
//   const raw = await op.mintToken({ sub: 'alice' }); // a hand-made token signed by the OP's key
//   await op.rotateKeys(); // new signing key; old one stays published
//   op.setDown(true); // every connection is reset, as if the OP were unreachable
//   await op.close();
//
// approveDeviceCode drives the provider's own endpoints like a browser would (GET /device, POST
// the code, confirm, then the login and consent interactions, which this harness serves at
// /interaction/:uid with the provider's interactionDetails/interactionFinished API); nothing
// edits the provider's storage directly.
//
// rotateKeys swaps in a new Provider object with keys [new, ...old] behind the same listener and
// storage, so the issuer, port, sessions, grants and refresh tokens survive; from the outside it
// looks like an OP that rotated its signing key without a restart.

import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CompactSign,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JSONWebKeySet,
} from 'jose';
import { request } from 'undici';

export type SigningAlg = 'ES256' | 'RS256' | 'PS256' | 'EdDSA';

export interface OidcProviderOptions {
  /** The address to listen on and name in the issuer (default '127.0.0.1'). */
  host?: string;
  /** The hub's audience, a resource indicator URI (default 'https://hub.heph.test'). */
  audience?: string;
  /** Scope the resource server grants (default 'heph'). */
  resourceScope?: string;
  /** The public CLI client's id (default 'heph-cli'). */
  clientId?: string;
  /** Signing algorithm of the keys this harness makes (default 'ES256'). */
  alg?: SigningAlg;
  accessTokenTtlSec?: number;
  idTokenTtlSec?: number;
  refreshTokenTtlSec?: number;
  deviceCodeTtlSec?: number;
}

export interface MintOptions {
  /** Protected header fields merged over the defaults `{alg, kid, typ: 'at+jwt'}`; a field set
   *  to `undefined` is removed. */
  header?: Record<string, unknown>;
  /** Sign with this key instead of the current one: 'previous' is the key before the last
   *  rotation. */
  key?: 'current' | 'previous';
  /** Epoch seconds used for the default `iat`/`exp` (default now). */
  nowSec?: number;
}

export interface OidcTestProvider {
  /** `http://127.0.0.1:<port>` (or the `host` asked for), exactly as the OP puts it in `iss`. */
  readonly issuer: string;
  readonly port: number;
  readonly audience: string;
  readonly clientId: string;
  readonly resourceScope: string;
  /** The published key set (public keys, newest first). */
  jwks(): JSONWebKeySet;
  /** Adds a new signing key (used from now on); older keys stay published. Returns its kid. */
  rotateKeys(): Promise<string>;
  /** Signs in as `sub` and approves the pending device authorization with this user code,
   *  through the OP's own /device and interaction endpoints. */
  approveDeviceCode(userCode: string, sub: string): Promise<void>;
  /** Signs `claims` merged over `{iss, aud, sub: 'test-user', client_id, scope, iat, exp}` with
   *  the OP's key; a claim set to `undefined` is removed. */
  mintToken(claims?: Record<string, unknown>, opts?: MintOptions): Promise<string>;
  /** While down, every connection is reset before a response, as if the OP were unreachable. */
  setDown(down: boolean): void;
  /** Requests served so far, by path (e.g. '/jwks'). */
  hits(path: string): number;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  key: CryptoKey;
}

// oidc-provider ships no types; the harness uses this much of it.
interface ProviderInstance {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<Interaction>;
  interactionFinished(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    result: Record<string, unknown>,
    opts?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: GrantCtor;
  proxy: boolean;
}
interface Interaction {
  uid: string;
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, unknown>;
  session?: { accountId?: string };
  grantId?: string;
}
interface GrantInstance {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}
interface GrantCtor {
  new (o: { accountId: string; clientId: string }): GrantInstance;
  find(id: string): Promise<GrantInstance | undefined>;
}
type ProviderCtor = new (issuer: string, config: Record<string, unknown>) => ProviderInstance;

async function loadProvider(): Promise<ProviderCtor> {
  // A string-typed specifier: the package has no type declarations.
  const spec: string = 'oidc-provider';
  const mod = (await import(spec)) as { default: ProviderCtor };
  return mod.default;
}

async function makeKey(alg: SigningAlg): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  const { d, p, q, dp, dq, qi, ...publicJwk } = privateJwk;
  void [d, p, q, dp, dq, qi];
  return { kid, privateJwk, publicJwk, key: privateKey };
}

/** oidc-provider's adapter contract, in memory, per harness (survives a provider swap). */
function memoryAdapterFactory() {
  const store = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>();
  const index = new Map<string, string>();
  const get = (key: string) => {
    const e = store.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return e.payload;
  };
  return (model: string) => {
    const k = (id: string) => `${model}:${id}`;
    return {
      upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
        store.set(k(id), { payload, expiresAt });
        if (typeof payload.uid === 'string') index.set(`uid:${model}:${payload.uid}`, id);
        if (typeof payload.userCode === 'string') {
          index.set(`userCode:${model}:${payload.userCode}`, id);
        }
        if (typeof payload.grantId === 'string') {
          index.set(`grant:${payload.grantId}:${k(id)}`, k(id));
        }
        return Promise.resolve();
      },
      find: (id: string) => Promise.resolve(get(k(id))),
      findByUid(uid: string) {
        const id = index.get(`uid:${model}:${uid}`);
        return Promise.resolve(id === undefined ? undefined : get(k(id)));
      },
      findByUserCode(userCode: string) {
        const id = index.get(`userCode:${model}:${userCode}`);
        return Promise.resolve(id === undefined ? undefined : get(k(id)));
      },
      consume(id: string) {
        const p = get(k(id));
        if (p) p.consumed = Math.floor(Date.now() / 1000);
        return Promise.resolve();
      },
      destroy(id: string) {
        store.delete(k(id));
        return Promise.resolve();
      },
      revokeByGrantId(grantId: string) {
        const prefix = `grant:${grantId}:`;
        for (const [ik, key] of index) {
          if (ik.startsWith(prefix)) {
            store.delete(key);
            index.delete(ik);
          }
        }
        return Promise.resolve();
      },
    };
  };
}

/** A tiny cookie jar (name → value), enough to carry the OP's session through one flow. */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(setCookie: string | string[] | undefined): void {
    for (const line of typeof setCookie === 'string' ? [setCookie] : (setCookie ?? [])) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair === undefined || eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; ');
  }
}

function formValue(html: string, name: string): string | undefined {
  const re = new RegExp(`name="${name}"\\s+value="([^"]*)"`);
  return re.exec(html)?.[1];
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

export async function startOidcProvider(opts: OidcProviderOptions = {}): Promise<OidcTestProvider> {
  const Provider = await loadProvider();
  const audience = opts.audience ?? 'https://hub.heph.test';
  const resourceScope = opts.resourceScope ?? 'heph';
  const clientId = opts.clientId ?? 'heph-cli';
  const alg = opts.alg ?? 'ES256';
  const accessTokenTtlSec = opts.accessTokenTtlSec ?? 300;
  const adapter = memoryAdapterFactory();
  const cookieKeys = [randomBytes(32).toString('base64url')];
  const keys: SigningKey[] = [await makeKey(alg)];
  const hitCounts = new Map<string, number>();
  let down = false;
  let provider: ProviderInstance | undefined;
  let handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;

  const server = http.createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    hitCounts.set(path, (hitCounts.get(path) ?? 0) + 1);
    if (path.startsWith('/interaction/')) {
      serveInteraction(req, res).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(e instanceof Error ? e.message : String(e));
      });
      return;
    }
    handler?.(req, res);
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  function build(): void {
    provider = new Provider(issuer, {
      adapter,
      clients: [
        {
          client_id: clientId,
          client_name: 'heph CLI',
          token_endpoint_auth_method: 'none',
          grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
          response_types: [],
          redirect_uris: [],
          id_token_signed_response_alg: alg,
        },
      ],
      jwks: { keys: keys.map((k) => k.privateJwk) },
      cookies: { keys: cookieKeys },
      scopes: ['openid', 'offline_access', 'profile', 'email'],
      claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
      findAccount: (_ctx: unknown, sub: string) => ({
        accountId: sub,
        claims: () => ({ sub }),
      }),
      ttl: {
        AccessToken: accessTokenTtlSec,
        IdToken: opts.idTokenTtlSec ?? 300,
        RefreshToken: opts.refreshTokenTtlSec ?? 3600,
        DeviceCode: opts.deviceCodeTtlSec ?? 300,
        Grant: 3600,
        Interaction: 300,
        Session: 3600,
      },
      issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(g: string): boolean }) =>
        client.grantTypeAllowed('refresh_token'),
      interactions: { url: (_ctx: unknown, i: { uid: string }) => `/interaction/${i.uid}` },
      features: {
        devInteractions: { enabled: false },
        deviceFlow: {
          enabled: true,
          // Plain pages instead of the defaults (which log a notice each time they render).
          userCodeInputSource: (ctx: { body: string }, form: string) => {
            ctx.body = `<!DOCTYPE html><title>Sign-in</title>${form}`;
          },
          userCodeConfirmSource: (ctx: { body: string }, form: string) => {
            ctx.body = `<!DOCTYPE html><title>Confirm</title>${form}`;
          },
          successSource: (ctx: { body: string }) => {
            ctx.body = '<!DOCTYPE html><title>Sign-in Success</title>';
          },
        },
        revocation: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => audience,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, indicator: string) => {
            if (indicator !== audience) throw new Error(`unknown resource ${indicator}`);
            return {
              scope: resourceScope,
              audience,
              accessTokenTTL: accessTokenTtlSec,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg } },
            };
          },
        },
      },
    });
    handler = provider.callback();
  }
  build();

  // The login + consent UI: a POST with `sub` finishes whichever prompt is pending.
  async function serveInteraction(req: http.IncomingMessage, res: http.ServerResponse) {
    const p = provider!;
    const details = await p.interactionDetails(req, res);
    if (req.method !== 'POST') {
      res.setHeader('content-type', 'text/html');
      res.end(
        `<form method="post"><input name="sub"/><button>${details.prompt.name}</button></form>`,
      );
      return;
    }
    const sub = new URLSearchParams(await readBody(req)).get('sub') ?? '';
    if (details.prompt.name === 'login') {
      await p.interactionFinished(req, res, { login: { accountId: sub } });
      return;
    }
    const d = details.prompt.details;
    const grant =
      details.grantId !== undefined
        ? await p.Grant.find(details.grantId)
        : new p.Grant({
            accountId: details.session?.accountId ?? sub,
            clientId: String(details.params.client_id),
          });
    if (grant === undefined) throw new Error('grant vanished');
    if (Array.isArray(d.missingOIDCScope)) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (Array.isArray(d.missingOIDCClaims)) grant.addOIDCClaims(d.missingOIDCClaims as string[]);
    const missing = d.missingResourceScopes as Record<string, string[]> | undefined;
    for (const [indicator, scopes] of Object.entries(missing ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await p.interactionFinished(
      req,
      res,
      { consent: { grantId } },
      {
        mergeWithLastSubmission: true,
      },
    );
  }

  async function approveDeviceCode(userCode: string, sub: string): Promise<void> {
    const jar = new CookieJar();
    const go = async (method: 'GET' | 'POST', url: string, form?: Record<string, string>) => {
      const r = await request(new URL(url, issuer), {
        method,
        headers: {
          cookie: jar.header(),
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      });
      jar.store(r.headers['set-cookie']);
      const body = await r.body.text();
      const location = r.headers.location;
      return {
        status: r.statusCode,
        body,
        location: typeof location === 'string' ? location : undefined,
      };
    };

    const page = await go('GET', '/device');
    const xsrf = formValue(page.body, 'xsrf');
    if (xsrf === undefined) throw new Error(`no xsrf on the device page (${page.status})`);
    const confirm = await go('POST', '/device', { xsrf, user_code: userCode });
    const xsrf2 = formValue(confirm.body, 'xsrf');
    if (xsrf2 === undefined) {
      throw new Error(`the OP did not offer to confirm code ${userCode} (${confirm.status})`);
    }
    let r = await go('POST', '/device', { xsrf: xsrf2, user_code: userCode, confirm: 'yes' });
    for (let hops = 0; hops < 12; hops++) {
      if (r.location === undefined) break;
      const target = new URL(r.location, issuer);
      if (target.pathname.startsWith('/interaction/')) {
        await go('GET', target.href);
        r = await go('POST', target.href, { sub });
      } else {
        r = await go('GET', target.href);
      }
    }
    if (r.status !== 200 || !r.body.includes('Sign-in Success')) {
      throw new Error(`device approval did not succeed (${r.status})`);
    }
  }

  async function mintToken(
    claims: Record<string, unknown> = {},
    mo: MintOptions = {},
  ): Promise<string> {
    const signer = mo.key === 'previous' ? keys[1] : keys[0];
    if (signer === undefined) throw new Error('no previous key: call rotateKeys() first');
    const now = mo.nowSec ?? Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: issuer,
      aud: audience,
      sub: 'test-user',
      client_id: clientId,
      scope: resourceScope,
      jti: randomUUID(),
      iat: now,
      exp: now + accessTokenTtlSec,
      ...claims,
    };
    const header: Record<string, unknown> = { alg, kid: signer.kid, typ: 'at+jwt', ...mo.header };
    for (const o of [payload, header]) {
      for (const [k, v] of Object.entries(o)) if (v === undefined) delete o[k];
    }
    const bytes = new TextEncoder().encode(JSON.stringify(payload));
    return new CompactSign(bytes).setProtectedHeader(header as { alg: string }).sign(signer.key);
  }

  return {
    issuer,
    port,
    audience,
    clientId,
    resourceScope,
    jwks: () => ({ keys: keys.map((k) => k.publicJwk) }),
    async rotateKeys() {
      const next = await makeKey(alg);
      keys.unshift(next);
      build();
      return next.kid;
    },
    approveDeviceCode,
    mintToken,
    setDown(d: boolean) {
      down = d;
      if (d) server.closeAllConnections();
    },
    hits: (path) => hitCounts.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
