// The daemon's JSON-RPC methods on the hub: POST /rpc and the hub's own unix socket, both served
// from the caller's owner's cache replica (cache.ts). Guarantees: the same methods, schemas and
// engine as a local daemon's socket; each call runs on a replica caught up with its owner's log,
// and what it wrote is in the log before its reply; over HTTP, the methods that touch the
// serving machine's filesystem (export, import, backup) answer with a `forbidden` error naming
// the socket as the place to call them; a reply is 200 with the JSON-RPC response, or 204 when
// the body held only notifications; a single call refused for the caller's role answers 403,
// and a single call whose changes the hub store could not take answers with that 5xx error, each
// with the hub's error body (in a batch, such a call gets it as its JSON-RPC error, and the calls
// before it were stored); a result that cannot be serialized becomes an internal error; every
// call runs on its caller's owner's data, never another's.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HephError } from '../../core/errors.js';
import type { OwnerId } from '../../ports/hub-store.js';
import type { Logger } from '../../ports/logger.js';
import { httpStatusFor } from '../../protocol/error-wire.js';
import { serialize } from '../../protocol/json-rpc.js';
import { dispatchMessage } from '../../rpc/dispatch.js';
import { methodShapes } from '../../rpc/methods/index.js';
import { Registry, type MethodDef, type RpcContext } from '../../rpc/registry.js';
import { isNotStored, type CacheReplicas } from '../cache.js';
import type { HubPrincipal } from '../devices.js';
import { errorBody } from '../http-errors.js';

/** A call's context on the hub: whose data it runs on, and a failure that ends the request. */
export interface HubRpcContext extends RpcContext {
  readonly owner: OwnerId;
  /** Who calls: on the hub, always on some owner's data. */
  readonly principal: HubPrincipal;
  /** Set when a call's changes could not be stored: HTTP answers the request with it. */
  notStored?: HephError;
}

/**
 * The daemon's methods, each run on the caller's owner's cache replica, and `hubOnly` (the hub's
 * own, such as device.*): one registry for /rpc and the hub's socket (dispatch refuses a method
 * on a surface it is not served on).
 */
export function cachedRegistry(
  caches: CacheReplicas,
  hubOnly: readonly MethodDef<MethodDef['params'], HubRpcContext>[] = [],
): Registry<HubRpcContext> {
  const methods = methodShapes().map((m): MethodDef<MethodDef['params'], HubRpcContext> => ({
    ...m,
    handler: async (params, ctx) => {
      try {
        return await caches.run(ctx.owner, (r) => r.registry.get(m.name)!.handler(params, ctx));
      } catch (e) {
        if (isNotStored(e)) ctx.notStored = e;
        throw e;
      }
    },
  }));
  return new Registry<HubRpcContext>([methods, hubOnly]);
}

/** POST /rpc: `principalOf` gives the caller, as the hub's authentication recorded it. */
export function rpcRoutes(
  app: FastifyInstance,
  registry: Registry<HubRpcContext>,
  principalOf: (request: FastifyRequest) => HubPrincipal,
  logger: Logger,
): void {
  let next = 1;
  // Any signed-in caller may call /rpc: each method's own role is checked in dispatch.
  app.post('/rpc', { config: { access: 'viewer' } }, async (request, reply) => {
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    const principal = principalOf(request);
    const ctx: HubRpcContext = {
      connectionId: `http-${next++}`,
      // Plain HTTP has no channel back to the caller outside the response.
      notify: () => false,
      signal: gone.signal,
      principal,
      surface: 'http',
      owner: principal.owner,
    };
    let forbidden: HephError | undefined;
    const result = await dispatchMessage(registry, request.body, ctx, {
      logger,
      onForbidden: (e) => (forbidden ??= e),
    });
    // A batch answers each call (the calls before a failed one were stored, and say so); a
    // single call refused or not stored answers with that error's HTTP status.
    const failure = Array.isArray(request.body) ? undefined : (forbidden ?? ctx.notStored);
    if (failure !== undefined) return reply.code(httpStatusFor(failure)).send(errorBody(failure));
    if (result === null) return reply.code(204).send();
    const text = Array.isArray(result)
      ? '[' + result.map((r) => serialize(r, logger)).join(',') + ']'
      : serialize(result, logger);
    return reply.code(200).type('application/json; charset=utf-8').send(text);
  });
}
