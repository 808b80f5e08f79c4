// JSON-RPC 2.0 conformance of dispatch, in process. Cases follow the spec's examples (§7).
import { describe, expect, it } from 'vitest';
import { MAX_NESTING_LIMIT, parseMessage } from '../../src/protocol/json-rpc.js';
import { dispatchLine } from '../../src/rpc/dispatch.js';
import { testContext, testRegistry } from './fixtures.js';

const reg = testRegistry();
const ctx = testContext();

// JSON.parse's loosely typed result lets assertions reach into replies.
async function rpc(line: string) {
  const out = await dispatchLine(reg, line, ctx);
  return out === null ? null : JSON.parse(out);
}

describe('single requests', () => {
  it('answers with result and the same id (string, number, null)', async () => {
    expect(
      await rpc('{"jsonrpc":"2.0","method":"test.echo","params":{"value":[1,"a"]},"id":1}'),
    ).toEqual({
      jsonrpc: '2.0',
      result: { value: [1, 'a'] },
      id: 1,
    });
    expect(
      (await rpc('{"jsonrpc":"2.0","method":"test.echo","params":{"value":1},"id":"abc"}')).id,
    ).toBe('abc');
    expect(
      (await rpc('{"jsonrpc":"2.0","method":"test.echo","params":{"value":1},"id":null}')).id,
    ).toBe(null);
  });

  it('turns an undefined result into null and a bare verb works', async () => {
    expect(await rpc('{"jsonrpc":"2.0","method":"next","id":7}')).toEqual({
      jsonrpc: '2.0',
      result: [],
      id: 7,
    });
  });

  it('gives no reply to notifications, even failing or unknown ones', async () => {
    const calls: string[] = [];
    const r = testRegistry({ calls });
    expect(
      await dispatchLine(r, '{"jsonrpc":"2.0","method":"test.echo","params":{"value":1}}', ctx),
    ).toBeNull();
    expect(calls).toEqual(['echo']);
    expect(await dispatchLine(r, '{"jsonrpc":"2.0","method":"nope"}', ctx)).toBeNull();
    expect(
      await dispatchLine(r, '{"jsonrpc":"2.0","method":"test.fail","params":{"id":"x"}}', ctx),
    ).toBeNull();
    expect(
      await dispatchLine(r, '{"jsonrpc":"2.0","method":"test.echo","params":{"bad":1}}', ctx),
    ).toBeNull();
  });

  it('-32601 for an unknown method', async () => {
    const r = await rpc('{"jsonrpc":"2.0","method":"foobar","id":"1"}');
    expect(r.error.code).toBe(-32601);
    expect(r.error.message).toMatch(/foobar/);
    expect(r.id).toBe('1');
  });

  it('-32602 naming the field for bad params', async () => {
    const r = await rpc(
      '{"jsonrpc":"2.0","method":"test.nested","params":{"task":{"title":3}},"id":2}',
    );
    expect(r.id).toBe(2);
    expect(r.error.code).toBe(-32602);
    expect(r.error.data).toEqual({ code: 'invalid_params', field: 'task.title' });
    expect(r.error.message).toMatch(/task\.title/);
    const pos = await rpc('{"jsonrpc":"2.0","method":"test.echo","params":[1],"id":3}');
    expect(pos.error.code).toBe(-32602);
    expect(pos.error.data.field).toBe('params');
  });

  it('application errors carry data.code; foreign errors become a generic internal error', async () => {
    const r = await rpc('{"jsonrpc":"2.0","method":"test.fail","params":{"id":"01ABC"},"id":4}');
    expect(r.error).toEqual({
      code: -32004,
      message: 'node 01ABC not found',
      data: { code: 'not_found', id: '01ABC' },
    });
    const c = await rpc('{"jsonrpc":"2.0","method":"test.crash","params":{},"id":5}');
    expect(c.error.code).toBe(-32603);
    expect(c.error.data).toEqual({ code: 'internal' });
    expect(JSON.stringify(c)).not.toMatch(/SQLITE|secret/);
  });

  it('a result JSON cannot encode becomes an internal error for that id', async () => {
    const r = await rpc('{"jsonrpc":"2.0","method":"test.bigint","params":{},"id":6}');
    expect(r.id).toBe(6);
    expect(r.error.data.code).toBe('internal');
  });
});

describe('invalid input', () => {
  it('-32700 with id null for unparsable JSON', async () => {
    const r = await rpc('{"jsonrpc":"2.0","method":"foobar,"params":"bar","baz]');
    expect(r).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 }, id: null });
  });

  it('-32600 for invalid request objects', async () => {
    for (const line of [
      '{"jsonrpc":"2.0","method":1,"params":"bar"}',
      '1',
      '"x"',
      'null',
      '{"method":"test.echo","id":1}',
      '{"jsonrpc":"1.0","method":"test.echo","id":1}',
      '{"jsonrpc":"2.0","method":"test.echo","params":"bar","id":1}',
      '{"jsonrpc":"2.0","method":"test.echo","params":null,"id":1}',
    ]) {
      const r = await rpc(line);
      expect(r.error.code, line).toBe(-32600);
      expect(r.jsonrpc).toBe('2.0');
    }
  });

  it('-32600 with id null when the id itself is invalid; a valid id is echoed', async () => {
    for (const id of ['{}', '[1]', 'true', '1.5e999']) {
      const r = await rpc(`{"jsonrpc":"2.0","method":"test.echo","params":{"value":1},"id":${id}}`);
      expect(r.error.code, id).toBe(-32600);
      expect(r.id).toBeNull();
    }
    expect((await rpc('{"jsonrpc":"1.0","method":"x","id":9}')).id).toBe(9);
  });

  it('treats 100,000-deep nesting as a parse error without crashing', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(await rpc(deep)).toMatchObject({ error: { code: -32700 }, id: null });
    const deepParams = `{"jsonrpc":"2.0","method":"test.echo","params":{"value":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}},"id":1}`;
    expect(await rpc(deepParams)).toMatchObject({ error: { code: -32700 }, id: null });
    const strings = `{"jsonrpc":"2.0","method":"test.echo","params":{"value":"${'['.repeat(100_000)}"},"id":1}`;
    expect((await rpc(strings)).result.value).toHaveLength(100_000);
  });
});

describe('parseMessage depth limit', () => {
  it('accepts exactly maxDepth levels and refuses one more, however many brackets', () => {
    expect(parseMessage('[[[1]]]', 3)).toEqual({ ok: true, value: [[[1]]] });
    expect(parseMessage('[[[[1]]]]', 3)).toMatchObject({ ok: false, response: { id: null } });
    expect(parseMessage('[[],{},[],{"a":[]}]', 3).ok).toBe(true);
    expect(parseMessage('[[],{},[],{"a":[{}]}]', 3).ok).toBe(false);
    expect(parseMessage('["[[[[", "{{{{"]', 3).ok).toBe(true);
  });

  it('measures the deepest branch of wide values, and brackets inside strings never count', () => {
    // Many containers side by side (more openers than the limit) at depth 3: accepted.
    const wide = JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ p: [i, '[{'] })));
    expect(parseMessage(wide, 3)).toEqual({ ok: true, value: JSON.parse(wide) });
    // One of them a level deeper, last or first: refused.
    const deepLast = JSON.stringify([...JSON.parse(wide), { p: [[1]] }]);
    expect(parseMessage(deepLast, 3).ok).toBe(false);
    expect(parseMessage(JSON.stringify([{ p: [[1]] }, ...JSON.parse(wide)]), 3).ok).toBe(false);
    // A key named __proto__ is an own property of parsed JSON and is walked like any other.
    expect(parseMessage('[{"__proto__":[[1]]}' + ',{}'.repeat(10) + ']', 3).ok).toBe(false);
    // A string or number at the top, full of brackets, is no nesting at all.
    expect(parseMessage(JSON.stringify('[{'.repeat(1000)), 3).ok).toBe(true);
    // Not JSON however deep: a parse error, never a throw.
    const bad = parseMessage('['.repeat(100_000), 3);
    expect(bad).toMatchObject({ ok: false, response: { error: { code: -32700 } } });
  });

  it('a limit above MAX_NESTING_LIMIT is that limit, and the check never throws', () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(parseMessage(nest(100_000), 1_000_000)).toMatchObject({
      ok: false,
      response: { id: null },
    });
    expect(parseMessage(nest(MAX_NESTING_LIMIT + 1), 1_000_000).ok).toBe(false);
    // Positive control: as deep as the limit goes.
    expect(parseMessage(nest(MAX_NESTING_LIMIT), 1_000_000).ok).toBe(true);
  });
});

describe('batches', () => {
  it('[] is one -32600 with id null', async () => {
    expect(await rpc('[]')).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 }, id: null });
  });

  it('[1] and [1,2,3] give one -32600 per member', async () => {
    const one = await rpc('[1]');
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ error: { code: -32600 }, id: null });
    const three = await rpc('[1,2,3]');
    expect(three).toHaveLength(3);
    for (const r of three) expect(r).toMatchObject({ error: { code: -32600 }, id: null });
  });

  it('mixes results, errors and notifications (spec example)', async () => {
    const out = await rpc(
      '[' +
        '{"jsonrpc":"2.0","method":"test.echo","params":{"value":1},"id":"1"},' +
        '{"jsonrpc":"2.0","method":"test.echo","params":{"value":7}},' +
        '{"jsonrpc":"2.0","method":"test.echo","params":{"value":42},"id":"2"},' +
        '{"foo":"boo"},' +
        '{"jsonrpc":"2.0","method":"foo.get","params":{"name":"myself"},"id":"5"},' +
        '{"jsonrpc":"2.0","method":"test.nested","params":{},"id":"9"}' +
        ']',
    );
    expect(out).toHaveLength(5);
    const byId = (id: unknown) => out.filter((r: { id: unknown }) => r.id === id);
    expect(byId('1')[0].result).toEqual({ value: 1 });
    expect(byId('2')[0].result).toEqual({ value: 42 });
    expect(byId('5')[0].error.code).toBe(-32601);
    expect(byId('9')[0].error.data).toEqual({ code: 'invalid_params', field: 'task' });
    expect(byId(null)[0].error.code).toBe(-32600);
  });

  it('an all-notification batch gets nothing', async () => {
    expect(
      await dispatchLine(
        reg,
        '[{"jsonrpc":"2.0","method":"test.echo","params":{"value":1}},{"jsonrpc":"2.0","method":"nope"}]',
        ctx,
      ),
    ).toBeNull();
  });

  it('refuses a batch over the limit with one too_large error', async () => {
    const batch = JSON.stringify(
      Array.from({ length: 5 }, (_, i) => ({ jsonrpc: '2.0', method: 'next', id: i })),
    );
    const r = JSON.parse((await dispatchLine(reg, batch, ctx, { maxBatch: 4 }))!);
    expect(r).toMatchObject({ error: { data: { code: 'too_large', limit: 4 } }, id: null });
  });
});
