// POST /rpc: the daemon's JSON-RPC methods over HTTP, one request or batch per body. Guarantees:
// the same registry and engine as the socket, except the methods that touch the serving
// machine's filesystem (export, import, backup), which answer with a `forbidden` error naming the
// socket as the place to call them; a reply is 200 with the JSON-RPC response, or 204 when the
// body held only notifications; a result that cannot be serialized becomes an internal error;
// with sign-in on, the methods run on the caller's own partition, never another owner's.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HephError } from '../../core/errors.js';
import type { Logger } from '../../ports/logger.js';
import { serialize } from '../../protocol/json-rpc.js';
import { dispatchMessage } from '../../rpc/dispatch.js';
import { buildNamespaces, type Services } from '../../rpc/methods/index.js';
import { Registry, type MethodDef, type RpcContext } from '../../rpc/registry.js';

/** Methods that read or write files on the machine that serves them: socket only. */
export const SOCKET_ONLY_METHODS: readonly string[] = ['export', 'import', 'backup'];

/** The daemon's registry with the socket-only methods turned into clear refusals. */
export function httpRegistry(services: Services): Registry {
  const namespaces = buildNamespaces(services).map((ns) =>
    ns.map((m): MethodDef =>
      SOCKET_ONLY_METHODS.includes(m.name)
        ? {
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
          }
        : m,
    ),
  );
  return new Registry(namespaces);
}

/** `registryOf` gives the caller's registry: the methods over the caller's own partition. */
export function rpcRoutes(
  app: FastifyInstance,
  registryOf: (request: FastifyRequest) => Registry,
  logger: Logger,
): void {
  let next = 1;
  app.post('/rpc', async (request, reply) => {
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    const ctx: RpcContext = {
      connectionId: `http-${next++}`,
      // Plain HTTP has no channel back to the caller outside the response.
      notify: () => false,
      signal: gone.signal,
    };
    const result = await dispatchMessage(registryOf(request), request.body, ctx, { logger });
    if (result === null) return reply.code(204).send();
    const text = Array.isArray(result)
      ? '[' + result.map((r) => serialize(r, logger)).join(',') + ']'
      : serialize(result, logger);
    return reply.code(200).type('application/json; charset=utf-8').send(text);
  });
}
