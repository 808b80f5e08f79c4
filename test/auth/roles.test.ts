// The role matrix, generated from the method registry: every method called as every role, on
// every surface. Below a method's role the call is refused with `forbidden` naming the role needed
// (HTTP 403 on /rpc), before its params are looked at (the refused calls carry a param no method
// takes); at and above it the same method is not refused (empty params: whatever the handler
// answers, it is not `forbidden`). A method is refused on a surface it is not served on, as every
// role. Viewer, editor and admin are all constructed principals for dispatch (on the daemon's
// registry and the hub's) and for the /rpc route; the principals real credentials give (an open
// hub, an owner's sign-in, a device credential, the unix socket) are checked end to end, and
// every hub route against every role.

import { readFileSync } from 'node:fs';
import fastify from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRole, principalFor, ROLES, type Role } from '../../src/auth/principal.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { authenticateAs } from '../../src/hub/auth.js';
import type { HubPrincipal } from '../../src/hub/devices.js';
import { rpcRoutes, type HubRpcContext } from '../../src/hub/routes/rpc.js';
import { ManualClock, systemClock } from '../../src/ports/clock.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { silentLogger } from '../../src/ports/logger.js';
import { seededRandom } from '../../src/ports/random.js';
import { dispatchMessage } from '../../src/rpc/dispatch.js';
import { SURFACES, type Registry, type RpcContext, type Surface } from '../../src/rpc/registry.js';
import { connect } from '../../src/transport/socket-client.js';
import { enrolDevice, rpcError } from '../hub/device-helpers.js';
import { makeHub, ORIGIN_B, SYNC_HEADERS, pushBody, type TestHub } from '../hub/helpers.js';
import { startOidcProvider } from '../helpers/oidc-provider.js';
import { useCleanup } from '../helpers/temp.js';
import { openMethods, type Wire } from '../rpc/harness.js';
import { daemonConfig } from '../sync/helpers.js';

const cleanups = useCleanup();

/** A param no method takes: a call that reaches validation with it is invalid_params. */
const BOGUS = { no_such_param: true };

const a = (role: Role): string => (role === 'viewer' ? 'a' : 'an');
/** The refusal's message as far as it is the same for every caller (a hint may follow). */
const refusal = (method: string, needs: Role, role: Role): string =>
  `${method} needs the ${needs} role; this caller is ${a(role)} ${role}`;
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const refusalRe = (method: string, needs: Role, role: Role): RegExp =>
  new RegExp(`^${escape(refusal(method, needs, role))}( \\(.*\\))?$`);
/** Today's message for a filesystem method over HTTP. */
const NOT_OVER_HTTP =
  /^\S+ reads or writes files on the machine that runs hephd, so it is only served on the local socket, not over HTTP/;

function asRole(role: Role): HubPrincipal {
  // No credential gives a viewer yet: the principal is built by hand.
  return { owner: HUB_OWNER, role, via: 'device', device: 'cccccccccccccccc' };
}

interface Described {
  name: string;
  role: Role;
  surfaces: Surface[];
}

/**
 * Every method of `registry` as every role on every surface, through dispatch. `opCount` counts
 * the ops of the data the calls run on (a reading method must not add any).
 */
async function dispatchMatrix<C extends RpcContext>(
  registry: Registry<C>,
  context: (principal: HubPrincipal, surface: Surface) => C,
  opCount: () => Promise<number>,
): Promise<{ refused: number; served: number; offSurface: number }> {
  let id = 0;
  const call = async (
    method: string,
    principal: HubPrincipal,
    surface: Surface,
    params: object,
  ): Promise<{ result?: Wire; error?: Wire }> =>
    (await dispatchMessage(
      registry,
      { jsonrpc: '2.0', id: ++id, method, params },
      context(principal, surface),
    )) as { result?: Wire; error?: Wire };
  const counts = { refused: 0, served: 0, offSurface: 0 };
  for (const name of registry.names()) {
    const def = registry.get(name)!;
    for (const role of ROLES) {
      for (const surface of SURFACES) {
        const principal = asRole(role);
        if (!def.surfaces.includes(surface)) {
          const r = await call(name, principal, surface, BOGUS);
          expect(r.error?.data?.code, `${name} on ${surface}`).toBe('forbidden');
          expect(r.error?.message).toMatch(
            surface === 'http'
              ? NOT_OVER_HTTP
              : /^\S+ is hub administration, served only on the hub's POST \/rpc/,
          );
          counts.offSurface++;
          continue;
        }
        if (!hasRole(role, def.role)) {
          const r = await call(name, principal, surface, BOGUS);
          expect(r.error, `${name} as ${role}`).toMatchObject({
            code: -32013,
            message: expect.stringMatching(refusalRe(name, def.role, role)),
            data: { code: 'forbidden', needs: def.role, role },
          });
          counts.refused++;
          continue;
        }
        // Positive control: the same method at this role is not refused. A reading method
        // writes nothing (its declared role is true to what it does).
        const before = await opCount();
        const r = await call(name, principal, surface, {});
        expect(r.error?.data?.needs, `${name} as ${role}: ${r.error?.message}`).toBeUndefined();
        if (r.error?.data?.code === 'forbidden') {
          // Only a refusal of the method's own (not the role's) may remain: none here.
          throw new Error(`${name} as ${role} on ${surface}: ${r.error.message}`);
        }
        if (def.role === 'viewer') expect(await opCount(), `${name} wrote`).toBe(before);
        // And params are still validated after authorization.
        const bogus = await call(name, principal, surface, BOGUS);
        expect(bogus.error?.data?.code, name).toBe('invalid_params');
        counts.served++;
      }
    }
  }
  return counts;
}

describe('dispatch: every method as every role, on every surface', () => {
  it("the daemon's methods: refused exactly below the declared role, before params; served at and above", async () => {
    const env = openMethods(17);
    cleanups.defer(() => env.close());
    expect(env.registry.names().length).toBeGreaterThan(60);
    const counts = await dispatchMatrix(
      env.registry,
      (principal, surface) => ({
        connectionId: 'matrix',
        notify: () => true,
        signal: env.abort.signal,
        principal,
        surface,
      }),
      () => Promise.resolve(env.store.opCount()),
    );
    expect(counts.refused).toBeGreaterThan(50);
    expect(counts.served).toBeGreaterThan(100);
  });

  it("the hub's methods (device.* included), on the owner's cache replica", async () => {
    const hub = await makeHub({ clock: new ManualClock(Date.UTC(2026, 10, 22, 12)) });
    cleanups.defer(() => hub.close());
    const registry = hub.hub.socketRegistry;
    expect(registry.get('device.list')).toMatchObject({ role: 'admin', surfaces: ['http'] });
    const signal = new AbortController().signal;
    const counts = await dispatchMatrix(
      registry,
      (principal, surface): HubRpcContext => ({
        connectionId: 'matrix',
        notify: () => true,
        signal,
        principal,
        surface,
        owner: HUB_OWNER,
      }),
      () => hub.hubStore.head(HUB_OWNER),
    );
    // device.*: an editor and a viewer refused, 4 methods × 2 roles × 1 surface at least.
    expect(counts.refused).toBeGreaterThan(60);
    // export, import, backup, device.name and sync.rejoin over HTTP, the hub's device.* on the
    // socket, as every role.
    expect(counts.offSurface).toBe(5 * 3 + 4 * 3);
  });

  it('declares the roles the rules give: reads viewer, writes (creating included) editor', () => {
    const env = openMethods(18);
    cleanups.defer(() => env.close());
    const role = (name: string) => env.registry.get(name)?.role;
    for (const read of ['node.get', 'node.list', 'search', 'next', 'status', 'rpc.methods']) {
      expect(role(read), read).toBe('viewer');
    }
    for (const write of ['node.update', 'node.create', 'journal.open', 'task.done', 'undo']) {
      expect(role(write), write).toBe('editor');
    }
    for (const files of ['export', 'import', 'backup']) {
      expect(role(files), files).toBe('admin');
      expect(env.registry.get(files)?.surfaces, files).toEqual(['socket']);
    }
  });
});

describe('POST /rpc: every method as every role, over real HTTP', () => {
  let hub: TestHub;
  let url: string;
  const close: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    hub = await makeHub({ clock: new ManualClock(Date.UTC(2026, 10, 22, 12)) });
    close.push(() => hub.close());
    // The hub's own /rpc route and registry, with the caller's principal chosen per request.
    const app = fastify();
    close.push(() => app.close());
    const roleOf = (v: unknown): Role => ROLES.find((r) => r === v) ?? 'viewer';
    rpcRoutes(
      app,
      hub.hub.socketRegistry,
      (req) => asRole(roleOf(req.headers['x-role'])),
      silentLogger,
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    url = `http://127.0.0.1:${addr.port}/rpc`;
  });
  afterAll(async () => {
    for (const c of close.reverse()) await c();
  });

  const post = async (role: Role, body: unknown) => {
    const r = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-role': role },
      body: JSON.stringify(body),
    });
    return { status: r.statusCode, body: (await r.body.json()) as Wire };
  };

  it('answers 403 exactly below each method`s role, and never at or above it', async () => {
    const methods = hub.hub.socketRegistry.names();
    let refused = 0;
    for (const name of methods) {
      const def = hub.hub.socketRegistry.get(name)!;
      for (const role of ROLES) {
        if (!def.surfaces.includes('http')) {
          // As before roles: 200, with the refusal as the JSON-RPC error.
          const r = await post(role, { jsonrpc: '2.0', id: 1, method: name, params: BOGUS });
          expect(r.status, name).toBe(200);
          expect(r.body.error.data.code).toBe('forbidden');
          expect(r.body.error.message).toMatch(NOT_OVER_HTTP);
          continue;
        }
        if (!hasRole(role, def.role)) {
          const r = await post(role, { jsonrpc: '2.0', id: 1, method: name, params: BOGUS });
          expect(r.status, `${name} as ${role}`).toBe(403);
          expect(r.body).toEqual({
            error: {
              code: 'forbidden',
              message: expect.stringMatching(refusalRe(name, def.role, role)),
              needs: def.role,
              role,
            },
          });
          refused++;
          continue;
        }
        const r = await post(role, { jsonrpc: '2.0', id: 1, method: name, params: {} });
        expect(r.status, `${name} as ${role}`).not.toBe(403);
        expect(r.body.error?.data?.code, `${name} as ${role}`).not.toBe('forbidden');
      }
    }
    expect(refused).toBeGreaterThan(25);
  });

  it('in a batch, refuses the call below its role as that call`s error and serves the rest', async () => {
    const r = await post('viewer', [
      { jsonrpc: '2.0', id: 'w', method: 'node.create', params: { kind: 'doc', title: 'zebra' } },
      { jsonrpc: '2.0', id: 'r', method: 'node.list', params: {} },
    ]);
    expect(r.status).toBe(200);
    expect(r.body[0]).toMatchObject({
      id: 'w',
      error: {
        data: { code: 'forbidden' },
        message: expect.stringMatching(refusalRe('node.create', 'editor', 'viewer')),
      },
    });
    expect(r.body[1].id).toBe('r');
    expect(Array.isArray(r.body[1].result.nodes)).toBe(true);
    // The refused write wrote nothing.
    const after = await post('viewer', {
      jsonrpc: '2.0',
      id: 1,
      method: 'search',
      params: { query: 'zebra' },
    });
    expect(after.body.result.results).toEqual([]);
  });
});

describe('hub routes: every route as every role', () => {
  it('each route declares its access, and the auth hook refuses 403 exactly below it', async () => {
    const hub = await makeHub();
    cleanups.defer(() => hub.close());
    const declared = Object.fromEntries(
      hub.hub.routes.map((r) => [`${r.method} ${r.url}`, r.access]),
    );
    expect(declared).toEqual({
      'POST /sync/push': 'editor',
      'GET /sync/pull': 'viewer',
      'POST /rpc': 'viewer',
      'POST /auth/enroll': 'open',
      'POST /auth/device': 'admin',
      'POST /auth/rotate': 'editor',
      'POST /auth/revoke-self': 'editor',
      'GET /healthz': 'open',
      'GET /readyz': 'open',
      'GET /config': 'open',
    });
    // docs/hub-admin.md tells users the same.
    const doc = readFileSync(new URL('../../docs/hub-admin.md', import.meta.url), 'utf8');
    const documented = Object.fromEntries(
      [...doc.matchAll(/^\| `((?:GET|POST) \/\S*)` +\| `?(\w+)`?/gm)].map((m) => [
        m[1],
        m[2] === 'none' ? 'open' : m[2],
      ]),
    );
    expect(documented).toEqual(declared);
    // The hub's hook, with a principal of each role, in front of the hub's routes as declared.
    for (const role of ROLES) {
      const app = fastify();
      cleanups.defer(() => app.close());
      const authenticate = authenticateAs(asRole(role), () => undefined, silentLogger);
      app.addHook('onRequest', (req, reply) => {
        const access = req.routeOptions.config.access;
        return access === 'open' ? Promise.resolve(undefined) : authenticate(req, reply, access!);
      });
      for (const r of hub.hub.routes) {
        app.route({
          method: r.method,
          url: r.url,
          config: { access: r.access },
          handler: (_req, reply) => reply.code(204).send(),
        });
      }
      for (const r of hub.hub.routes) {
        const res = await app.inject({ method: r.method as 'GET', url: r.url });
        if (r.access !== 'open' && !hasRole(role, r.access)) {
          expect(res.statusCode, `${r.method} ${r.url} as ${role}`).toBe(403);
          expect(res.json()).toMatchObject({
            error: {
              code: 'forbidden',
              message: expect.stringMatching(refusalRe(`${r.method} ${r.url}`, r.access, role)),
            },
          });
        } else {
          expect(res.statusCode, `${r.method} ${r.url} as ${role}`).toBe(204);
        }
      }
    }
  });

  it('refuses to register a route that declares no access', async () => {
    const hub = await makeHub();
    cleanups.defer(() => hub.close());
    expect(() => hub.app.get('/undeclared', () => ({}))).toThrow(/declares no access/);
  });
});

/**
 * Every method over a real hub's /rpc, and the sync routes, as `role` (what the credential in
 * `headers` gives): 403 exactly below each method's role, served at and above it. Returns how many
 * were served and refused.
 */
async function overHttp(
  url: string,
  role: Role,
  headers: Record<string, string>,
): Promise<{ served: number; refused: number }> {
  const post = async (body: unknown) => {
    const r = await request(`${url}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: r.statusCode, body: (await r.body.json()) as Wire };
  };
  const listed = await post({ jsonrpc: '2.0', id: 0, method: 'rpc.methods' });
  expect(listed.status).toBe(200);
  const methods = listed.body.result.methods as Described[];
  const counts = { served: 0, refused: 0 };
  for (const m of methods) {
    const r = await post({ jsonrpc: '2.0', id: 1, method: m.name, params: {} });
    const e = r.body.error;
    if (!m.surfaces.includes('http')) {
      expect([r.status, e.message], m.name).toEqual([200, expect.stringMatching(NOT_OVER_HTTP)]);
    } else if (!hasRole(role, m.role)) {
      expect([r.status, e?.code], m.name).toEqual([403, 'forbidden']);
      expect(e.message, m.name).toMatch(refusalRe(m.name, m.role, role));
      counts.refused++;
    } else {
      expect(r.status, m.name).not.toBe(403);
      // No role refusal; an open hub refuses enrolling on its own terms (nothing to revoke).
      if (e?.data?.code === 'forbidden') expect(e.data.reason, m.name).toBe('open_hub');
      counts.served++;
    }
  }
  // The sync routes too: a pull and an empty push.
  const sync = { ...SYNC_HEADERS(headers['heph-replica']), ...headers };
  const pull = await request(`${url}/sync/pull`, { headers: sync });
  expect(pull.statusCode).toBe(200);
  await pull.body.dump();
  const push = await request(`${url}/sync/push`, {
    method: 'POST',
    headers: sync,
    body: pushBody([], headers['heph-replica']),
  });
  expect(push.statusCode).toBe(200);
  await push.body.dump();
  return counts;
}

describe('the principals real credentials give today, end to end', () => {
  it('an open hub: every caller is its owner, admin', async () => {
    expect(principalFor({ kind: 'open_hub', owner: HUB_OWNER })).toEqual({
      owner: HUB_OWNER,
      role: 'admin',
      via: 'open_hub',
    });
    const hub = await makeHub({ clock: systemClock });
    cleanups.defer(() => hub.close());
    const counts = await overHttp(await hub.listen(), 'admin', {});
    expect(counts).toMatchObject({ refused: 0 });
    expect(counts.served).toBeGreaterThan(55);
  });

  it("an owner's sign-in: admin of its data; a device credential: editor; no token: 401", async () => {
    expect(principalFor({ kind: 'owner_login', owner: 7 }).role).toBe('admin');
    const op = await startOidcProvider({ accessTokenTtlSec: 300 });
    cleanups.defer(() => op.close());
    const hub = await makeHub({
      clock: systemClock,
      auth: {
        issuer: op.issuer,
        audience: op.audience,
        clientId: op.clientId,
        verifier: { cooldownMs: 0 },
      },
    });
    cleanups.defer(() => hub.close());
    const url = await hub.listen();
    const token = await op.mintToken({ sub: 'owner' });
    const counts = await overHttp(url, 'admin', { authorization: `Bearer ${token}` });
    expect(counts).toMatchObject({ refused: 0 });
    expect(counts.served).toBeGreaterThan(55);
    // A device credential: an editor. Every hub administration method is refused, with a hint.
    const device = await enrolDevice(hub.app, token, ORIGIN_B);
    const asDevice = await overHttp(url, 'editor', {
      authorization: `Bearer ${device.credential}`,
      'heph-replica': ORIGIN_B,
    });
    expect(asDevice.refused).toBe(4);
    expect(asDevice.served).toBe(counts.served - 4);
    const e = await rpcError(hub.app, device.credential, 'device.list');
    expect(e.message).toMatch(/an editor \(a device credential; .*owner's sign-in/);
    // Negative control: without the token the same call is refused before any role applies.
    const r = await request(`${url}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'node.list' }),
    });
    expect(r.statusCode).toBe(401);
    await r.body.dump();
  });

  it("the daemon's unix socket: admin of its replica, every socket method served", async () => {
    const dir = cleanups.dir('heph-roles-');
    const config = {
      ...daemonConfig(`${dir}/heph.db`, { mode: 'local' }),
      socket: `${dir}/s/d.sock`,
    };
    const daemon = await startDaemon(config, {
      clock: new ManualClock(Date.UTC(2026, 10, 22, 9)),
      random: seededRandom(19),
      logger: silentLogger,
      version: 'test',
    });
    cleanups.defer(() => daemon.stop());
    expect(principalFor({ kind: 'local_socket', replica: daemon.store.origin })).toEqual({
      role: 'admin',
      via: 'local_socket',
      device: daemon.store.origin,
    });
    const client = await connect(config.socket);
    cleanups.defer(() => client.close());
    const { methods } = (await client.call('rpc.methods')) as { methods: Described[] };
    let served = 0;
    for (const m of methods) {
      const outcome = await client.call(m.name, {}).then(
        () => 'ok',
        (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
      );
      if (m.surfaces.includes('socket')) {
        expect(outcome, m.name).not.toMatch(/^forbidden/);
        served++;
      } else {
        expect(outcome, m.name).toMatch(/^forbidden: .*hub's POST \/rpc/);
      }
    }
    expect(served).toBe(methods.length);
  });
});
