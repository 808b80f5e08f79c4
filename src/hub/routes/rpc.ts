// The daemon's JSON-RPC methods on the hub: POST /rpc and the hub's own unix socket, both served
// from the caller's owner's cache replica (cache.ts). Guarantees: the same methods, schemas and
// engine as a local daemon's socket; each call runs on a replica caught up with its owner's log,
// and what it wrote is in the log before its reply; over HTTP, the methods that touch the
// serving machine's filesystem (export, import, backup) answer with a `forbidden` error naming
// the socket as the place to call them; a reply is 200 with the JSON-RPC response, or 204 when
// the body held only notifications; a single call whose changes the hub store could not take
// answers with that 5xx error instead, and in a batch such a call gets it as its JSON-RPC error
// (the calls before it were stored); a result that cannot be serialized
// becomes an internal error; every call runs on its caller's owner's data, never another's.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HephError } from '../../core/errors.js';
import type { OwnerId } from '../../ports/hub-store.js';
import type { Logger } from '../../ports/logger.js';
import { httpStatusFor } from '../../protocol/error-wire.js';
import { serialize } from '../../protocol/json-rpc.js';
import { dispatchMessage } from '../../rpc/dispatch.js';
import { methodShapes } from '../../rpc/methods/index.js';
import { Registry, type MethodDef, type RpcContext } from '../../rpc/registry.js';
import { isNotStored, type CacheReplicas } from '../cache.js';
import type { HubCaller } from '../devices.js';
import { errorBody } from '../http-errors.js';

/** Methods that read or write files on the machine that serves them: socket only. */
export const SOCKET_ONLY_METHODS: readonly string[] = ['export', 'import', 'backup'];

/** A call's context on the hub: whose data it runs on, and a failure that ends the request. */
export interface HubRpcContext extends RpcContext {
  readonly owner: OwnerId;
  /** Who calls over /rpc (the hub's socket has none). */
  readonly caller?: HubCaller;
  /** Set when a call's changes could not be stored: HTTP answers the request with it. */
  notStored?: HephError;
}

function socketOnly(m: MethodDef): MethodDef<MethodDef['params'], HubRpcContext> {
  return {
    name: m.name,
    summary: `${m.summary} Refused over HTTP: call it on the daemon's socket.`,
    params: m.params,
    result: m.result,
    handler: () => {
      throw new HephError(
        'forbidden',
        `${m.name} reads or writes files on the machine that runs hephd, so it is ` +
          'only served on the local socket, not over HTTP; run it against a local daemon',
        { method: m.name },
      );
    },
  };
}

/**
 * The daemon's methods, each run on the caller's owner's cache replica. `http`: the methods of
 * /rpc (the filesystem ones refused), with `hubOnly` (the hub's own, such as device.*).
 */
export function cachedRegistry(
  caches: CacheReplicas,
  http: boolean,
  hubOnly: readonly MethodDef<MethodDef['params'], HubRpcContext>[] = [],
): Registry<HubRpcContext> {
  const methods = methodShapes().map((m): MethodDef<MethodDef['params'], HubRpcContext> => {
    if (http && SOCKET_ONLY_METHODS.includes(m.name)) return socketOnly(m);
    return {
      name: m.name,
      summary: m.summary,
      params: m.params,
      result: m.result,
      handler: async (params, ctx) => {
        try {
          return await caches.run(ctx.owner, (r) => r.registry.get(m.name)!.handler(params, ctx));
        } catch (e) {
          if (isNotStored(e)) ctx.notStored = e;
          throw e;
        }
      },
    };
  });
  return new Registry<HubRpcContext>([methods, http ? hubOnly : []]);
}

/** POST /rpc: `callerOf` gives the caller (and its owner). */
export function rpcRoutes(
  app: FastifyInstance,
  registry: Registry<HubRpcContext>,
  callerOf: (request: FastifyRequest) => HubCaller,
  logger: Logger,
): void {
  let next = 1;
  app.post('/rpc', async (request, reply) => {
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    const caller = callerOf(request);
    const ctx: HubRpcContext = {
      connectionId: `http-${next++}`,
      // Plain HTTP has no channel back to the caller outside the response.
      notify: () => false,
      signal: gone.signal,
      owner: caller.owner,
      caller,
    };
    const result = await dispatchMessage(registry, request.body, ctx, { logger });
    // A batch answers each call: the calls before a failed one were stored, and say so.
    if (ctx.notStored !== undefined && !Array.isArray(request.body)) {
      return reply.code(httpStatusFor(ctx.notStored)).send(errorBody(ctx.notStored));
    }
    if (result === null) return reply.code(204).send();
    const text = Array.isArray(result)
      ? '[' + result.map((r) => serialize(r, logger)).join(',') + ']'
      : serialize(result, logger);
    return reply.code(200).type('application/json; charset=utf-8').send(text);
  });
}
