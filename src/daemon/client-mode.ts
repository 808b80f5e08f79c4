// hephd --mode client: no replica, online only. Every socket call is validated with the same
// schemas as a local daemon's and forwarded to the hub's POST /rpc; the hub's result comes back
// as it is, and its error with the same code, message and data. Local to this process:
// `rpc.methods`, `status` (mode client, plus the hub's status when it answers), `sync.status`,
// `sync.now` (refused: nothing to sync), `events.subscribe`/`events.unsubscribe` (fed by
// long-polling the hub's /sync/pull from its current end and mapping ops to node.changed,
// task.changed and link.changed; conflict.changed when the hub's conflict list differs after a
// field change arrives), and `export`/`import`/`backup`, which work on this machine's files with
// the hub's data methods (client-files.ts). `undo` and `undo.list` are refused here: they take back
// this device's own changes, and without a replica it has none.
// stop() stops the socket server, the long-poll and the HTTP client, and is idempotent.

import { z } from 'zod';
import type { DaemonConfig } from '../config/config.js';
import { HephError } from '../core/errors.js';
import { randomHex } from '../core/ids.js';
import { canonicalJson, isPlainObject } from '../core/json.js';
import { fromWireError } from '../protocol/error-wire.js';
import { MAX_PULL_LIMIT } from '../protocol/sync.js';
import { methodShapes } from '../rpc/methods/index.js';
import { adminTokenMethods } from '../rpc/methods/admin-token.js';
import { AdminTokens } from '../auth/admin-token.js';
import * as R from '../rpc/methods/results.js';
import { defineMethod, EVERYWHERE, Registry, type MethodDef } from '../rpc/registry.js';
import { HubClient } from '../sync/hub-client.js';
import { unsyncedStatus } from '../sync/sync-status.js';
import { startSocketServer, type SocketServer } from '../transport/socket-server.js';
import { backupFromHub, exportViaHub, importViaHub } from './client-files.js';
import { socketOwnerError, type DaemonDeps } from './daemon.js';
import { TOPICS, type Topic } from './events.js';

const LOCAL = new Set([
  'status',
  'sync.status',
  'sync.now',
  'events.subscribe',
  'events.unsubscribe',
]);
/** Methods that take back this device's own changes: without a replica there are none. */
const DEVICE_ONLY = new Set(['undo', 'undo.list']);
const TASK_FIELDS = new Set(['state', 'attention', 'do_date', 'late_on', 'recurrence']);
const LONG_POLL_S = 25;
/** How long events.subscribe waits for the feed to reach the hub's end. */
const READY_WAIT_MS = 10_000;

/** Waits for `p`, at most `ms` (the timer is cleared either way). */
async function atMost(p: Promise<void>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise<void>((r) => (t = setTimeout(r, ms)))]);
  } finally {
    clearTimeout(t);
  }
}

export interface ClientDaemon {
  readonly hub: string;
  stop(): Promise<void>;
}

/** The notifications one op implies (without a replica, a task is known by its fields). */
export function eventsOf(ops: readonly unknown[]): Map<Topic, Set<string>> {
  const out = new Map<Topic, Set<string>>();
  const add = (t: Topic, id: string): void => {
    let s = out.get(t);
    if (!s) out.set(t, (s = new Set()));
    s.add(id);
  };
  for (const op of ops) {
    if (!isPlainObject(op) || typeof op.kind !== 'string' || typeof op.target !== 'string') {
      continue;
    }
    const payload = isPlainObject(op.payload) ? op.payload : {};
    if (op.kind === 'node.set' || op.kind.startsWith('body.')) {
      add('node.changed', op.target);
      const field = payload.field;
      if (
        typeof field === 'string' &&
        (TASK_FIELDS.has(field) || (field === 'kind' && payload.value === 'task'))
      ) {
        add('task.changed', op.target);
      }
    } else if (op.kind === 'link.add' || op.kind === 'link.remove') {
      add('link.changed', op.target);
    }
  }
  return out;
}

interface Sub {
  connectionId: string;
  topics: ReadonlySet<Topic>;
  send(method: string, params: Record<string, unknown>): boolean;
}

export async function startClientDaemon(
  config: DaemonConfig,
  deps: DaemonDeps,
): Promise<ClientDaemon> {
  const { logger } = deps;
  if (config.hubUrl === undefined) {
    throw new HephError(
      'invalid_params',
      '--mode client needs a hub: pass --hub-url URL (or set HEPH_HUB_URL)',
      { field: 'hub-url' },
    );
  }
  const client = new HubClient({
    url: config.hubUrl,
    // Client mode has no replica; the sync routes still want a well-formed replica id.
    origin: randomHex(deps.random, 16),
    clock: deps.clock,
    ...(config.insecureHttp !== undefined && { insecureHttp: config.insecureHttp }),
    ...(deps.getToken && { getToken: deps.getToken }),
  });
  const hub = client.url.href;
  const subs = new Map<string, Sub>();
  let nextSub = 1;
  const stopAll = new AbortController();
  let feeding: Promise<void> | undefined;

  const forward = async (method: string, params: unknown): Promise<unknown> => {
    const reply = await client.rpc(
      { jsonrpc: '2.0', method, params: params ?? {}, id: 1 },
      stopAll.signal,
    );
    if (!isPlainObject(reply) || reply.jsonrpc !== '2.0') {
      throw new HephError('protocol_mismatch', `hub at ${client.url.host} sent no JSON-RPC reply`);
    }
    if (Object.hasOwn(reply, 'error')) throw fromWireError(reply.error);
    if (!Object.hasOwn(reply, 'result')) {
      throw new HephError(
        'protocol_mismatch',
        `hub at ${client.url.host} sent a reply without result`,
      );
    }
    return reply.result;
  };

  const emit = (topic: Topic, params: Record<string, unknown>): void => {
    for (const [id, s] of subs) {
      if (!s.topics.has(topic)) continue;
      if (!s.send(topic, { subscription: id, ...params })) subs.delete(id);
    }
  };

  const wants = (topic: Topic): boolean => [...subs.values()].some((x) => x.topics.has(topic));
  const conflictList = async (): Promise<string> =>
    canonicalJson(await forward('conflicts.list', {}));

  // Long-polls the hub from its current end and turns arriving ops into notifications. `ready`
  // is called once the feed has reached the hub's end (so a subscriber sees every later change),
  // or has failed to (the hub is unreachable: events start when it answers again).
  const feed = async (ready: () => void): Promise<void> => {
    let cursor: string | undefined;
    let caughtUp = false;
    let failures = 0;
    let conflicts: string | undefined;
    while (!stopAll.signal.aborted && subs.size > 0) {
      try {
        const page = await client.pull(
          cursor,
          MAX_PULL_LIMIT,
          caughtUp ? LONG_POLL_S : 0,
          stopAll.signal,
        );
        failures = 0;
        cursor = page.cursor;
        if (caughtUp) {
          const events = eventsOf(page.ops);
          for (const [topic, ids] of events) emit(topic, { ids: [...ids] });
          // A conflict appears or goes away only with a field or body write.
          if (events.has('node.changed') && wants('conflict.changed')) {
            const now = await conflictList();
            if (now !== conflicts) emit('conflict.changed', {});
            conflicts = now;
          }
        }
        if (!page.more && !caughtUp) {
          caughtUp = true;
          if (wants('conflict.changed')) conflicts = await conflictList();
          ready();
        }
      } catch (e) {
        if (stopAll.signal.aborted) return;
        ready();
        failures++;
        const ms = Math.min(60_000, 1000 * 2 ** Math.min(failures - 1, 6));
        if (failures === 1) {
          logger.warn({ err: (e as Error).message }, 'events: hub unreachable; retrying');
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms * (0.5 + deps.random.next() / 2));
          stopAll.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), {
            once: true,
          });
        });
      }
    }
  };
  let feedReady: Promise<void> = Promise.resolve();
  const startFeed = (): Promise<void> => {
    if (!feeding) {
      let ready!: () => void;
      feedReady = new Promise<void>((r) => (ready = r));
      feeding = feed(ready).finally(() => {
        ready();
        feeding = undefined;
      });
    }
    // Bounded: a hub with a long log still answers the subscriber soon. (Stopping ends the feed,
    // which resolves feedReady.)
    return atMost(feedReady, READY_WAIT_MS);
  };

  // The filesystem methods run here, on this machine's files (the hub refuses them).
  const files = new Map<string, (p: Record<string, unknown>) => Promise<unknown>>([
    ['export', (p) => exportViaHub(forward, p.dir as string)],
    [
      'import',
      (p) =>
        importViaHub(
          forward,
          p.dir as string,
          p.skip_invalid === true ? { skipInvalid: true } : {},
        ),
    ],
    [
      'backup',
      (p) =>
        backupFromHub(client, p.path as string, p.overwrite === true, {
          clock: deps.clock,
          random: deps.random,
          logger,
          signal: stopAll.signal,
        }),
    ],
  ]);

  const local: MethodDef[] = [
    defineMethod({
      name: 'status',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'What this daemon is (mode client) and, when the hub answers, the hub’s status.',
      params: z.strictObject({ digest: z.boolean().optional() }),
      result: R.ClientStatusResult,
      handler: async (p) => {
        const own = {
          version: deps.version,
          mode: 'client',
          pid: process.pid,
          socket: config.socket,
          hub,
          subscribers: subs.size,
        };
        try {
          const theirs = await forward('status', p);
          return { ...(isPlainObject(theirs) ? theirs : {}), ...own, hub_reachable: true };
        } catch (e) {
          return { ...own, hub_reachable: false, hub_error: (e as Error).message };
        }
      },
    }),
    defineMethod({
      name: 'sync.status',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'Client mode keeps no replica: every call goes to the hub.',
      params: z.strictObject({}),
      result: R.SyncStatusResult,
      handler: () => {
        const s = unsyncedStatus('client');
        return { ...s, hub, verdict: `online only: every call goes to ${hub}` };
      },
    }),
    defineMethod({
      name: 'sync.now',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Refused in client mode: there is no replica to sync.',
      params: z.strictObject({ wait: z.boolean().optional() }),
      result: R.SyncNowResult,
      handler: () => {
        throw new HephError(
          'invalid_params',
          'hephd runs in client mode: it keeps no replica, every call already goes to the hub',
          { mode: 'client' },
        );
      },
    }),
    defineMethod({
      name: 'events.subscribe',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: `Streams change notifications on this connection (topics: ${TOPICS.join(', ')}).`,
      params: z.strictObject({ topics: z.array(z.enum(TOPICS)).min(1).optional() }),
      result: R.Subscribed,
      handler: async (p, ctx) => {
        const id = `sub-${nextSub++}`;
        subs.set(id, {
          connectionId: ctx.connectionId,
          topics: new Set(p.topics ?? TOPICS),
          send: (m, params) => ctx.notify(m, params),
        });
        ctx.signal.addEventListener('abort', () => subs.delete(id), { once: true });
        await startFeed();
        return { subscription: id };
      },
    }),
    defineMethod({
      name: 'events.unsubscribe',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'Ends a subscription made on this connection.',
      params: z.strictObject({ subscription: z.string().min(1).max(64) }),
      result: R.Unsubscribed,
      handler: (p, ctx) => {
        const s = subs.get(p.subscription);
        if (!s || s.connectionId !== ctx.connectionId) {
          throw new HephError('not_found', `no subscription ${p.subscription} on this connection`);
        }
        subs.delete(p.subscription);
        return { unsubscribed: true };
      },
    }),
  ];

  const forwarded = methodShapes()
    .filter((m) => !LOCAL.has(m.name))
    .map((m): MethodDef => ({
      ...m,
      handler:
        files.get(m.name) ??
        (DEVICE_ONLY.has(m.name)
          ? () => {
              throw new HephError(
                'invalid_params',
                'undo needs a device with its own replica: this hephd runs in client mode, ' +
                  'which keeps none (every call goes to the hub). Run heph undo where hephd ' +
                  'runs in local mode',
                { mode: 'client' },
              );
            }
          : (params) => forward(m.name, params)),
    }));

  const registry = new Registry([local, adminTokenMethods(new AdminTokens(deps.clock)), forwarded]);
  // A socket in use is refused as local mode refuses it: who holds it and what to do.
  const server: SocketServer = await startSocketServer({
    path: config.socket,
    registry,
    logger,
  }).catch(async (e: unknown) => {
    if (e instanceof HephError && e.code === 'already_running')
      throw await socketOwnerError(config.socket);
    throw e;
  });
  logger.info({ socket: config.socket, hub, mode: 'client' }, 'hephd started');

  let stopping: Promise<void> | undefined;
  return {
    hub,
    stop() {
      stopping ??= (async () => {
        stopAll.abort();
        await server.stop();
        await feeding;
        await client.close();
        logger.info({}, 'hephd stopped');
      })();
      return stopping;
    },
  };
}
