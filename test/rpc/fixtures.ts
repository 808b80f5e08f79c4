// A small registry used by the rpc and transport tests.
import { z } from 'zod';
import { HephError } from '../../src/core/errors.js';
import { principalFor } from '../../src/auth/principal.js';
import { defineMethod, EVERYWHERE, Registry, type RpcContext } from '../../src/rpc/registry.js';

export function testContext(over: Partial<RpcContext> = {}): RpcContext {
  return {
    connectionId: 'test',
    notify: () => true,
    signal: new AbortController().signal,
    principal: principalFor({ kind: 'local_socket' }),
    surface: 'socket',
    ...over,
  };
}

export interface Barrier {
  arrived: number;
  target: number;
  release: () => void;
  wait: Promise<void>;
}

export function makeBarrier(target: number): Barrier {
  let release!: () => void;
  const wait = new Promise<void>((r) => (release = r));
  return { arrived: 0, target, release, wait };
}

export function testRegistry(opts: { barrier?: Barrier; calls?: string[] } = {}): Registry {
  const calls = opts.calls ?? [];
  return new Registry([
    [
      defineMethod({
        name: 'test.echo',
        role: 'viewer',
        surfaces: EVERYWHERE,
        summary: 'Returns its value.',
        result: z.unknown(),
        params: z.strictObject({ value: z.unknown() }),
        handler: ({ value }) => {
          calls.push('echo');
          return { value };
        },
      }),
      defineMethod({
        name: 'test.sleep',
        role: 'viewer',
        surfaces: EVERYWHERE,
        summary: 'Waits ms, then returns them.',
        result: z.unknown(),
        params: z.strictObject({ ms: z.number().int().min(0), tag: z.string().optional() }),
        handler: async ({ ms, tag }) => {
          calls.push(`sleep:${tag ?? ''}`);
          await new Promise((r) => setTimeout(r, ms));
          return { slept: ms, tag: tag ?? null };
        },
      }),
      defineMethod({
        name: 'test.fail',
        role: 'viewer',
        surfaces: EVERYWHERE,
        summary: 'Throws a HephError.',
        result: z.unknown(),
        params: z.strictObject({ id: z.string() }),
        handler: ({ id }) => {
          throw new HephError('not_found', `node ${id} not found`, { id });
        },
      }),
      defineMethod({
        name: 'test.crash',
        role: 'viewer',
        surfaces: EVERYWHERE,
        summary: 'Throws a foreign error.',
        result: z.unknown(),
        params: z.strictObject({}),
        handler: () => {
          throw new Error('SQLITE_CORRUPT at /secret/path');
        },
      }),
      defineMethod({
        name: 'test.nested',
        role: 'viewer',
        surfaces: EVERYWHERE,
        summary: 'Validates nested params.',
        result: z.unknown(),
        params: z.strictObject({
          task: z.strictObject({ title: z.string(), do_date: z.iso.date().optional() }),
          tags: z.array(z.string()).optional(),
        }),
        handler: (p) => p,
      }),
      defineMethod({
        name: 'test.barrier',
        role: 'viewer',
        surfaces: EVERYWHERE,
        summary: 'Waits until the barrier target of callers arrived.',
        result: z.unknown(),
        params: z.strictObject({ n: z.number() }),
        handler: async ({ n }) => {
          const b = opts.barrier;
          if (b === undefined) throw new Error('no barrier');
          b.arrived++;
          if (b.arrived === b.target) b.release();
          await b.wait;
          return { n };
        },
      }),
      defineMethod({
        name: 'test.notify_me',
        role: 'viewer',
        surfaces: EVERYWHERE,
        summary: 'Sends count notifications on this connection, then answers.',
        result: z.unknown(),
        params: z.strictObject({ count: z.number().int() }),
        handler: ({ count }, ctx) => {
          for (let i = 0; i < count; i++) ctx.notify('test.event', { i });
          return { sent: count, conn: ctx.connectionId };
        },
      }),
      defineMethod({
        name: 'test.bigint',
        role: 'viewer',
        surfaces: EVERYWHERE,
        summary: 'Returns something JSON cannot encode.',
        result: z.unknown(),
        params: z.strictObject({}),
        handler: () => ({ n: 1n }),
      }),
    ],
    [
      defineMethod({
        name: 'next',
        role: 'viewer',
        surfaces: EVERYWHERE,
        summary: 'A bare verb.',
        result: z.unknown(),
        params: z.object({ today: z.iso.date().optional(), limit: z.number().optional() }),
        handler: () => [],
      }),
    ],
  ]);
}
