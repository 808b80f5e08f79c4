// Protocol 4's compact field sets on a real hub on 127.0.0.1:0, beside devices of protocol 3
// that send and get objects: the hub stores the canonical text of the decoded op, so an op sent
// in one form and again in the other is a duplicate (and different content under its id is
// still refused), each device gets the form it speaks, and a malformed compact op is refused by
// name without blocking the others.

import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeHlc } from '../../src/core/hlc.js';
import { linkId } from '../../src/core/ids.js';
import type { Op } from '../../src/core/op.js';
import { HUB_OWNER } from '../../src/ports/hub-store.js';
import { decodeWireOp, encodeWireOp } from '../../src/protocol/op-wire.js';
import { PROTOCOL_COMPACT_OPS, PROTOCOL_NO_ECHO } from '../../src/protocol/sync.js';
import { makeHub, ORIGIN_A, ORIGIN_B, T0, type TestHub } from './helpers.js';

const V3 = String(PROTOCOL_NO_ECHO);
const V4 = String(PROTOCOL_COMPACT_OPS);
let hub: TestHub;
let url: string;
beforeEach(async () => {
  hub = await makeHub();
  url = await hub.listen();
});
afterEach(async () => {
  await hub.close();
});

const NODE = '01KDVDNCT206VZTSQQX95E4Q6K';
const OTHER = '01KDVDNK66XCDHAN0TVM87Y5D0';
const at = (counter: number, origin = ORIGIN_A) =>
  encodeHlc({ wall: T0 - 60_000, counter, origin });

/** Field sets (with and without change, prev of two origins), a link and an unknown kind. */
const ops: Op[] = [
  {
    id: at(0),
    kind: 'node.set',
    target: NODE,
    payload: { field: 'kind', prev: [], value: 'task' },
  },
  {
    id: at(1),
    kind: 'node.set',
    target: NODE,
    payload: { change: at(0), field: 'title', prev: [], value: 'Buy milk' },
  },
  {
    id: at(2),
    kind: 'node.set',
    target: NODE,
    payload: { change: at(0), field: 'title', prev: [at(1), at(5, ORIGIN_B)], value: 'Oat milk' },
  },
  {
    id: at(3),
    kind: 'link.add',
    target: linkId(NODE, 'parent', OTHER),
    payload: { dst: OTHER, src: NODE, type: 'parent' },
  },
  { id: at(4), kind: 'future.kind', target: NODE, payload: { anything: [1, { b: 2 }] } },
];

async function push(protocol: string, wireOps: unknown[], origin = ORIGIN_A) {
  const r = await request(`${url}/sync/push`, {
    method: 'POST',
    headers: {
      'heph-protocol': protocol,
      'heph-replica': origin,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ replica: { id: origin }, ops: wireOps }),
  });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
}

async function pull(protocol: string): Promise<unknown[]> {
  const r = await request(`${url}/sync/pull?limit=100`, {
    headers: { 'heph-protocol': protocol, 'heph-replica': ORIGIN_B },
  });
  expect(r.statusCode).toBe(200);
  return ((await r.body.json()) as { ops: unknown[] }).ops;
}

describe('compact field sets beside objects', () => {
  it('stores one op whichever form it came in, and a re-send in the other form is a duplicate', async () => {
    const compact = ops.map(encodeWireOp);
    expect(compact.filter(Array.isArray)).toHaveLength(3);
    // Protocol 4 first, then the same ops as a device of protocol 3 sends them, and back.
    expect((await push(V4, compact)).body).toEqual({ accepted: 5, duplicates: 0, refused: [] });
    expect((await push(V3, ops)).body).toEqual({ accepted: 0, duplicates: 5, refused: [] });
    expect((await push(V4, compact)).body).toEqual({ accepted: 0, duplicates: 5, refused: [] });
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(5);

    // Each device gets the form it speaks, and both read the same ops.
    const old = await pull(V3);
    expect(old).toEqual(ops);
    const now = await pull(V4);
    expect(now).toEqual(compact);
    expect(now.map(decodeWireOp)).toEqual(ops);
  });

  it('refuses different content under a stored id in either form', async () => {
    await push(V3, ops);
    const changed: Op = { ...ops[2]!, payload: { ...ops[2]!.payload, value: 'Soy milk' } };
    const r = await push(V4, [encodeWireOp(changed)]);
    expect(r.body).toMatchObject({ accepted: 0, duplicates: 0 });
    expect(r.body.refused).toEqual([
      expect.objectContaining({ id: changed.id, code: 'op_id_reused' }),
    ]);
  });

  it('refuses a malformed compact op by name and takes the rest; a device of protocol 3 may not send arrays', async () => {
    const r = await push(V4, [encodeWireOp(ops[0]!), [at(9), NODE, 'title', 'x', 'not a list']]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(r.body.refused).toEqual([
      {
        id: at(9),
        code: 'invalid_op',
        message: expect.stringMatching(/prev must be a list of stamps/),
        origin: ORIGIN_A,
      },
    ]);
    const old = await push(V3, [encodeWireOp(ops[1]!)]);
    expect(old.status).toBe(400);
    expect(old.body).toMatchObject({ error: { code: 'invalid_params', field: 'ops.0' } });
    expect(await hub.hubStore.head(HUB_OWNER)).toBe(1);
  });
});
