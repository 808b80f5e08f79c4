// Requests a device and its owner make to a hub, by fastify's inject (any hub app: SQLite or
// PostgreSQL), for the device and enrolment tests.

import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { encodeHlc } from '../../src/core/hlc.js';
import type { HubAuthOptions } from '../../src/hub/auth.js';
import { systemClock } from '../../src/ports/clock.js';
import type { OidcTestProvider } from '../helpers/oidc-provider.js';
import type { TestOp } from './helpers.js';
import { ECHO_PROTOCOL, titleOp } from './helpers.js';

export type Reply = Awaited<ReturnType<FastifyInstance['inject']>>;
type ErrorOf = { code: string; message: string } & Record<string, unknown>;
export const errorOf = (r: Reply): ErrorOf => r.json<{ error: ErrorOf }>().error;

export const bearer = (token: string | undefined): Record<string, string> =>
  token === undefined ? {} : { authorization: `Bearer ${token}` };

const syncHeaders = (replica: string | undefined) => ({
  'heph-protocol': ECHO_PROTOCOL,
  ...(replica !== undefined && { 'heph-replica': replica }),
  'content-type': 'application/json',
});

export function rpcCall(
  app: FastifyInstance,
  token: string | undefined,
  method: string,
  params: object = {},
  headers: Record<string, string> = {},
): Promise<Reply> {
  return app.inject({
    method: 'POST',
    url: '/rpc',
    headers: { 'content-type': 'application/json', ...bearer(token), ...headers },
    payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
}

/** A JSON-RPC call that must succeed: its result. */
export async function rpcOk<T = Record<string, unknown>>(
  app: FastifyInstance,
  token: string | undefined,
  method: string,
  params: object = {},
): Promise<T> {
  const r = await rpcCall(app, token, method, params);
  expect(r.statusCode, r.body).toBe(200);
  const body = r.json<{ result?: T; error?: unknown }>();
  expect(body.error, JSON.stringify(body.error)).toBeUndefined();
  return body.result!;
}

/** A JSON-RPC call's error (data.code and message). */
export async function rpcError(
  app: FastifyInstance,
  token: string | undefined,
  method: string,
  params: object = {},
): Promise<{ code: string; message: string; status: number }> {
  const r = await rpcCall(app, token, method, params);
  if (r.statusCode !== 200) return { ...errorOf(r), status: r.statusCode };
  const e = r.json<{ error?: { message: string; data: { code: string } } }>().error;
  expect(e, r.body).toBeDefined();
  return { code: e!.data.code, message: e!.message, status: 200 };
}

let wall = Date.now();
/** Ops of `origin` stamped now. */
export function opsOf(origin: string, n = 1): TestOp[] {
  wall = Math.max(wall + 1, Date.now());
  return Array.from({ length: n }, (_, i) => titleOp(wall, i, origin, i));
}

export function pushAs(
  app: FastifyInstance,
  token: string | undefined,
  replica: string | undefined,
  ops: readonly TestOp[],
  body: Record<string, unknown> = {},
): Promise<Reply> {
  return app.inject({
    method: 'POST',
    url: '/sync/push',
    headers: { ...syncHeaders(replica), ...bearer(token) },
    payload: JSON.stringify({ replica: { id: replica ?? 'ffffffffffffffff', ...body }, ops }),
  });
}

export function pullAs(
  app: FastifyInstance,
  token: string | undefined,
  replica: string | undefined,
  query = '',
): Promise<Reply> {
  return app.inject({
    method: 'GET',
    url: `/sync/pull${query}`,
    headers: { ...syncHeaders(replica), ...bearer(token) },
  });
}

export function enrollAs(
  app: FastifyInstance,
  token: string,
  replica: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Reply> {
  return app.inject({
    method: 'POST',
    url: '/auth/enroll',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify({ token, replica, platform: 'linux', arch: 'x64', ...extra }),
  });
}

export function rotateAs(app: FastifyInstance, token: string | undefined): Promise<Reply> {
  return app.inject({ method: 'POST', url: '/auth/rotate', headers: bearer(token) });
}

export function revokeSelfAs(app: FastifyInstance, token: string | undefined): Promise<Reply> {
  return app.inject({ method: 'POST', url: '/auth/revoke-self', headers: bearer(token) });
}

/** Enrols a new device named `name` for `replica` with the owner's login: its credential. */
export async function enrolDevice(
  app: FastifyInstance,
  login: string,
  replica: string,
  name = `box ${replica.slice(0, 4)}`,
): Promise<{ id: string; credential: string; token: string }> {
  const e = await rpcOk<{ token: string; device: { id: string } }>(app, login, 'device.enroll', {
    name,
  });
  const r = await enrollAs(app, e.token, replica);
  expect(r.statusCode, r.body).toBe(200);
  const body = r.json<{ credential: string; device: { id: string } }>();
  expect(body.device.id).toBe(e.device.id);
  return { id: e.device.id, credential: body.credential, token: e.token };
}

export const replicaId = (n: number): string => n.toString(16).padStart(16, '0');
export const opId = (origin: string, counter: number): string =>
  encodeHlc({ wall: Date.now(), counter, origin });

/** POST /auth/device: a credential for `replica` on an owner's login (`heph auth login`). */
export function deviceAs(
  app: FastifyInstance,
  token: string | undefined,
  replica: string,
  extra: Record<string, unknown> = {},
): Promise<Reply> {
  return app.inject({
    method: 'POST',
    url: '/auth/device',
    headers: { 'content-type': 'application/json', 'heph-replica': replica, ...bearer(token) },
    payload: JSON.stringify({ replica, platform: 'linux', arch: 'x64', ...extra }),
  });
}

/** A hub's sign-in with the test provider, on the real clock, without a failure limiter. */
export function signInWith(op: OidcTestProvider): HubAuthOptions {
  return {
    issuer: op.issuer,
    audience: op.audience,
    clientId: op.clientId,
    clock: systemClock,
    limiter: false,
    verifier: { cooldownMs: 0 },
  };
}
