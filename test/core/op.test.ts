// parseOp accepts only well-shaped ops and interpretOp only well-formed payloads of known kinds,
// each refusal an `invalid_op` naming the problem; unknown kinds and unknown payload fields pass.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { linkId } from '../../src/core/ids.js';
import {
  interpretOp,
  MAX_PAYLOAD_BYTES,
  MAX_PREV,
  MAX_TARGET_LENGTH,
  opContent,
  parseOp,
  type Op,
} from '../../src/core/op.js';

const SEED = 0x0b_5e_ed;
const ID = '019bc2f3a4b5-0000-0123456789abcdef';
const ID2 = '019bc2f3a4b6-0001-0123456789abcdef';
const NODE = '01HZY3F0V3Z5KJ8Q9W2X4Y6Z7A';
const NODE2 = '01HZY3F0V3Z5KJ8Q9W2X4Y6Z7B';

/** The error `fn` throws, checked to be an `invalid_op` HephError. */
function invalidOp(fn: () => unknown): HephError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (!(thrown instanceof HephError))
    throw new Error(`expected a HephError, got ${String(thrown)}`);
  expect(thrown.code).toBe('invalid_op');
  return thrown;
}

const validRaw = () => ({
  id: ID,
  kind: 'node.set',
  target: NODE,
  payload: { field: 'title', value: 'Hello', prev: [] as string[] },
});

function nested(levels: number): Record<string, unknown> {
  // `levels` nested objects, the innermost holding a number.
  let v: Record<string, unknown> = { x: 1 };
  for (let i = 1; i < levels; i++) v = { x: v };
  return v;
}

describe('parseOp', () => {
  it('accepts a well-shaped op and keeps only its four fields', () => {
    const op = parseOp({ ...validRaw(), extra: 'ignored' });
    expect(op).toEqual(validRaw());
    expect(Object.keys(op).sort()).toEqual(['id', 'kind', 'payload', 'target']);
  });

  class NotPlain {
    id = ID;
  }
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', JSON.stringify(validRaw())],
    ['a number', 42],
    ['an array', [validRaw()]],
    ['a class instance', new NotPlain()],
    ['a Date', new Date(0)],
    ['a Map', new Map(Object.entries(validRaw()))],
  ])('rejects a non-object: %s', (_name, v) => {
    expect(invalidOp(() => parseOp(v)).message).toMatch(/not an object/);
  });

  it.each([
    ['missing', undefined],
    ['a number', 12345],
    ['upper case', ID.toUpperCase()],
    ['too short', ID.slice(0, -1)],
    ['too long', ID + 'a'],
    ['wrong separators', ID.replace(/-/g, '_')],
    ['a ULID', NODE],
  ])('rejects a bad id: %s', (_name, id) => {
    expect(invalidOp(() => parseOp({ ...validRaw(), id })).message).toMatch(
      /id is not an HLC stamp/,
    );
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 7],
    ['upper case', 'Node.set'],
    ['leading dot', '.node'],
    ['trailing dot', 'node.'],
    ['empty segment', 'node..set'],
    ['space', 'node set'],
    ['leading digit', '1node.set'],
    ['segment starting with a digit', 'node.1set'],
    ['five segments', 'a.b.c.d.e'],
    ['segment of 33 characters', 'a'.repeat(33)],
    ['non-ASCII', 'nöde.set'],
  ])('rejects a bad kind: %s', (_name, kind) => {
    const e = invalidOp(() => parseOp({ ...validRaw(), kind }));
    expect(e.message).toMatch(/kind is not a dotted lower-case name/);
    expect(e.message).toContain(ID); // names the op
  });

  it.each(['a.b.c.d', 'task_x.v-2', 'a'.repeat(32), 'future.kind'])(
    'accepts a well-formed kind: %s',
    (kind) => {
      expect(parseOp({ ...validRaw(), kind }).kind).toBe(kind);
    },
  );

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 1],
    ['too long', 'x'.repeat(MAX_TARGET_LENGTH + 1)],
  ])('rejects a bad target: %s', (_name, target) => {
    expect(invalidOp(() => parseOp({ ...validRaw(), target })).message).toMatch(/target/);
  });

  it('accepts a target of the maximum length', () => {
    expect(parseOp({ ...validRaw(), target: 'x'.repeat(MAX_TARGET_LENGTH) }).target).toHaveLength(
      MAX_TARGET_LENGTH,
    );
  });

  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  it.each([
    ['missing', undefined],
    ['null', null],
    ['an array', [1, 2]],
    ['a string', '{}'],
    ['an undefined value', { a: undefined }],
    ['NaN', { a: Number.NaN }],
    ['Infinity', { a: Number.POSITIVE_INFINITY }],
    ['a function', { a: () => 1 }],
    ['a bigint', { a: 1n }],
    ['a Date', { a: new Date(0) }],
    ['a Map', { a: new Map() }],
    ['a symbol', { a: Symbol('s') }],
    ['undefined in an array', { a: [1, undefined] }],
    ['a cycle', cyclic],
    ['17 levels deep', nested(17)],
  ])('rejects a payload that is not a JSON object: %s', (_name, payload) => {
    expect(invalidOp(() => parseOp({ ...validRaw(), payload })).message).toMatch(
      /payload is not a JSON object/,
    );
  });

  it('accepts a payload 16 levels deep and refuses one 17 levels deep', () => {
    expect(parseOp({ ...validRaw(), kind: 'x.y', payload: nested(16) }).payload).toEqual(
      nested(16),
    );
    invalidOp(() => parseOp({ ...validRaw(), kind: 'x.y', payload: nested(17) }));
  });

  it('refuses a very deep payload without overflowing the stack', () => {
    invalidOp(() => parseOp({ ...validRaw(), payload: nested(200_000) }));
  });

  it('accepts a null-prototype payload', () => {
    const payload = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(parseOp({ ...validRaw(), kind: 'x.y', payload }).payload).toEqual({ a: 1 });
  });

  it('either accepts or throws invalid_op for any value (fuzz)', () => {
    const raw = fc.oneof(
      fc.anything(),
      fc.record(
        {
          id: fc.oneof(fc.constant(ID), fc.string()),
          kind: fc.oneof(fc.constantFrom('node.set', 'link.add', 'x.y'), fc.string()),
          target: fc.oneof(fc.constant(NODE), fc.string()),
          payload: fc.oneof(fc.jsonValue(), fc.anything()),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(raw, (v) => {
        let op: Op;
        try {
          op = parseOp(v);
        } catch (e) {
          expect(e).toBeInstanceOf(HephError);
          expect((e as HephError).code).toBe('invalid_op');
          return;
        }
        expect(typeof op.id).toBe('string');
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

const op = (kind: string, target: string, payload: Record<string, unknown>): Op =>
  parseOp({ id: ID, kind, target, payload });

describe('interpretOp: node.set', () => {
  const set = (payload: Record<string, unknown>, target = NODE) => op('node.set', target, payload);

  it('interprets a well-formed write', () => {
    expect(interpretOp(set({ field: 'title', value: 'Hi', prev: [ID2] }))).toEqual({
      kind: 'node.set',
      id: ID,
      target: NODE,
      field: 'title',
      value: 'Hi',
      prev: [ID2],
    });
  });

  it('treats a missing prev as empty and tolerates unknown payload fields', () => {
    const k = interpretOp(set({ field: 'deleted', value: true, color: 'blue', v2: { x: [1] } }));
    expect(k).toEqual({
      kind: 'node.set',
      id: ID,
      target: NODE,
      field: 'deleted',
      value: true,
      prev: [],
    });
  });

  it.each([
    ['tag:work', 'kind', 'tag'],
    ['journal:2024-02-29', 'title', ''],
    [NODE, 'do_date', null],
    [NODE, 'do_date', '2026-03-01'],
    [NODE, 'aliases', ['one', 'two']],
    [NODE, 'recurrence', 'FREQ=WEEKLY'],
    [NODE, 'future_field', { nested: [1, 'two', null] }],
  ])('accepts target %s field %s = %j', (target, field, value) => {
    expect(interpretOp(set({ field, value }, target))).toMatchObject({ field, value });
  });

  it.each([
    [
      'target is not a node id',
      { field: 'title', value: 'x' },
      'not a node id',
      /target is not a node id/,
    ],
    ['target with a bar', { field: 'title', value: 'x' }, `${NODE}|x`, /target is not a node id/],
    ['field missing', { value: 'x' }, NODE, /payload\.field must be a string/],
    ['field not a string', { field: 3, value: 'x' }, NODE, /payload\.field must be a string/],
    ['value missing', { field: 'title' }, NODE, /payload\.value is missing/],
    [
      'field not an identifier',
      { field: 'Title', value: 'x' },
      NODE,
      /field name "Title" is not a lower-case identifier/,
    ],
    ['title not a string', { field: 'title', value: 5 }, NODE, /title must be a string/],
    [
      'title over two lines',
      { field: 'title', value: 'a\nb' },
      NODE,
      /title must be a single line/,
    ],
    [
      'title too long',
      { field: 'title', value: 'x'.repeat(1025) },
      NODE,
      /title must be at most 1024/,
    ],
    [
      'unknown state',
      { field: 'state', value: 'bogus' },
      NODE,
      /state must be one of outstanding, done, dropped/,
    ],
    ['unknown attention', { field: 'attention', value: 'green' }, NODE, /attention must be one of/],
    [
      'deleted not boolean',
      { field: 'deleted', value: 'yes' },
      NODE,
      /deleted must be true or false/,
    ],
    [
      'impossible do_date',
      { field: 'do_date', value: '2026-02-30' },
      NODE,
      /do_date must be a calendar date/,
    ],
    [
      'late_on not a date',
      { field: 'late_on', value: 'tomorrow' },
      NODE,
      /late_on must be a calendar date/,
    ],
    ['unknown kind', { field: 'kind', value: 'note' }, NODE, /kind must be one of/],
    ['aliases not a list', { field: 'aliases', value: 'a' }, NODE, /aliases must be a list/],
    ['empty alias', { field: 'aliases', value: ['ok', ' '] }, NODE, /each alias must not be empty/],
    ['empty recurrence', { field: 'recurrence', value: '' }, NODE, /recurrence must not be empty/],
    [
      'prev not a list',
      { field: 'title', value: 'x', prev: ID2 },
      NODE,
      /payload\.prev must be a list/,
    ],
    [
      'prev with a bad stamp',
      { field: 'title', value: 'x', prev: [ID2, 'nope'] },
      NODE,
      /payload\.prev must be a list/,
    ],
    [
      'prev too long',
      { field: 'title', value: 'x', prev: Array.from({ length: MAX_PREV + 1 }, () => ID2) },
      NODE,
      /payload\.prev must be a list of at most 256/,
    ],
  ])('rejects %s', (_name, payload, target, message) => {
    const e = invalidOp(() => interpretOp(set(payload, target)));
    expect(e.message).toMatch(message);
    expect(e.message).toContain(ID);
  });

  it('accepts prev of exactly the maximum length', () => {
    const prev = Array.from({ length: MAX_PREV }, () => ID2);
    expect(interpretOp(set({ field: 'title', value: 'x', prev }))).toMatchObject({ prev });
  });
});

describe('interpretOp: body.update', () => {
  it('interprets a base64 update and ignores unknown fields', () => {
    expect(interpretOp(op('body.update', NODE, { update: 'AQID', codec: 'yjs-v2' }))).toEqual({
      kind: 'body.update',
      id: ID,
      target: NODE,
      doc: '',
      init: false,
      update: 'AQID',
      resolves: [],
      imported: false,
    });
  });

  it('reads an import mark, and takes a malformed one for none (never a refusal)', () => {
    expect(interpretOp(op('body.update', NODE, { update: 'AQID', imported: true }))).toMatchObject({
      imported: true,
    });
    for (const imported of ['x', [ID2], 1, false]) {
      expect(interpretOp(op('body.update', NODE, { update: 'AQID', imported }))).toMatchObject({
        imported: false,
      });
    }
  });

  it.each([
    ['target is not a node id', 'x y', { update: 'AQID' }, /target is not a node id/],
    ['update missing', NODE, {}, /payload\.update must be a non-empty base64 string/],
    [
      'update not a string',
      NODE,
      { update: 12 },
      /payload\.update must be a non-empty base64 string/,
    ],
    ['update empty', NODE, { update: '' }, /payload\.update must be a non-empty base64 string/],
    [
      'update not base64',
      NODE,
      { update: 'not base64!' },
      /payload\.update must be a non-empty base64 string/,
    ],
    [
      'update url-safe base64',
      NODE,
      { update: 'ab-_' },
      /payload\.update must be a non-empty base64 string/,
    ],
  ])('rejects %s', (_name, target, payload, message) => {
    expect(invalidOp(() => interpretOp(op('body.update', target, payload))).message).toMatch(
      message,
    );
  });

  it('rejects an update over the size limit', () => {
    const big: Op = {
      id: ID,
      kind: 'body.update',
      target: NODE,
      payload: { update: 'A'.repeat(MAX_PAYLOAD_BYTES + 4) },
    };
    expect(invalidOp(() => interpretOp(big)).message).toMatch(/payload\.update is too large/);
  });
});

describe('interpretOp: body.init and body.edit', () => {
  const BRANCH = 'ab'.repeat(16);

  it('reads the branch an init starts, and the branch an edit edits', () => {
    expect(interpretOp(op('body.init', NODE, { branch: BRANCH, update: 'AQID' }))).toMatchObject({
      kind: 'body.init',
      doc: BRANCH,
      init: true,
      resolves: [],
    });
    expect(
      interpretOp(
        op('body.edit', NODE, { branch: '', update: 'AQID', resolves: { [BRANCH]: [ID2] } }),
      ),
    ).toMatchObject({ kind: 'body.edit', doc: '', init: false, resolves: [[BRANCH, [ID2]]] });
  });

  it.each([
    ['an init without a branch', 'body.init', { update: 'AQID' }],
    ['an init of the first document', 'body.init', { branch: '', update: 'AQID' }],
    [
      'a branch that is not 32 hex digits',
      'body.edit',
      { branch: 'AB'.repeat(16), update: 'AQID' },
    ],
    ['resolves that is a list', 'body.edit', { branch: BRANCH, update: 'AQID', resolves: [] }],
    [
      'resolves naming no branch',
      'body.edit',
      { branch: '', update: 'AQID', resolves: { x: [ID2] } },
    ],
    [
      'resolves with a bad version',
      'body.edit',
      { branch: '', update: 'AQID', resolves: { [BRANCH]: ['x'] } },
    ],
    ['an edit without an update', 'body.edit', { branch: BRANCH }],
  ])('rejects %s', (_name, kind, payload) => {
    expect(invalidOp(() => interpretOp(op(kind, NODE, payload))).message).toMatch(/payload\./);
  });
});

describe('interpretOp: link.add', () => {
  const target = linkId(NODE, 'tagged', 'tag:work');
  const payload = { src: NODE, dst: 'tag:work', type: 'tagged' };

  it('interprets a well-formed add and ignores unknown fields', () => {
    expect(interpretOp(op('link.add', target, { ...payload, label: 'x' }))).toEqual({
      kind: 'link.add',
      id: ID,
      target,
      src: NODE,
      dst: 'tag:work',
      type: 'tagged',
    });
  });

  it.each([
    [
      'src missing',
      target,
      { dst: 'tag:work', type: 'tagged' },
      /payload\.src and payload\.dst must be node ids/,
    ],
    [
      'src not a node id',
      target,
      { ...payload, src: 'a b' },
      /payload\.src and payload\.dst must be node ids/,
    ],
    [
      'dst with a bar',
      target,
      { ...payload, dst: 'tag:work|x' },
      /payload\.src and payload\.dst must be node ids/,
    ],
    ['unknown type', target, { ...payload, type: 'friend' }, /payload\.type is not a link type/],
    ['type missing', target, { src: NODE, dst: 'tag:work' }, /payload\.type is not a link type/],
    [
      'a wiki link',
      linkId(NODE, 'wiki', NODE2),
      { src: NODE, dst: NODE2, type: 'wiki' },
      /wiki links are derived from bodies/,
    ],
    [
      'target of another type',
      linkId(NODE, 'parent', 'tag:work'),
      payload,
      /target is not the link id of src, type and dst/,
    ],
    [
      'target with src and dst swapped',
      linkId('tag:work', 'tagged', NODE),
      payload,
      /target is not the link id/,
    ],
    ['target some other string', 'anything', payload, /target is not the link id/],
  ])('rejects %s', (_name, t, p, message) => {
    expect(invalidOp(() => interpretOp(op('link.add', t, p))).message).toMatch(message);
  });
});

describe('interpretOp: link.remove', () => {
  const target = linkId(NODE, 'parent', NODE2);

  it('interprets a well-formed remove and ignores unknown fields', () => {
    expect(interpretOp(op('link.remove', target, { observed: [ID2], why: 'x' }))).toEqual({
      kind: 'link.remove',
      id: ID,
      target,
      observed: [ID2],
    });
  });

  it.each([
    ['target not a link id', NODE, { observed: [ID2] }, /target is not a link id/],
    [
      'target with an unknown type',
      `${NODE}|friend|${NODE2}`,
      { observed: [ID2] },
      /target is not a link id/,
    ],
    ['target with four parts', `${target}|x`, { observed: [ID2] }, /target is not a link id/],
    ['observed missing', target, {}, /payload\.observed must be a list/],
    ['observed not a list', target, { observed: ID2 }, /payload\.observed must be a list/],
    [
      'observed with a bad stamp',
      target,
      { observed: [ID2.toUpperCase()] },
      /payload\.observed must be a list/,
    ],
    [
      'a wiki link',
      linkId(NODE, 'wiki', NODE2),
      { observed: [ID2] },
      /wiki links are derived from bodies/,
    ],
  ])('rejects %s', (_name, t, p, message) => {
    expect(invalidOp(() => interpretOp(op('link.remove', t, p))).message).toMatch(message);
  });
});

describe('interpretOp: unknown kinds', () => {
  it.each(['task.archive', 'node.set.v2', 'node', 'link.add2', 'body.update.x'])(
    '%s is not interpreted',
    (kind) => {
      expect(interpretOp(op(kind, 'anything at all', { whatever: [1, { a: null }] }))).toBe(
        undefined,
      );
    },
  );

  it('never throws for an unknown kind, whatever its payload (fuzz)', () => {
    const kind = fc
      .stringMatching(/^[a-z][a-z0-9_-]{0,8}(\.[a-z][a-z0-9_-]{0,8}){0,3}$/)
      .filter((k) => !['node.set', 'body.update', 'link.add', 'link.remove'].includes(k));
    const payload = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 }));
    fc.assert(
      fc.property(kind, payload, (k, p) => {
        expect(interpretOp(op(k, NODE, p))).toBe(undefined);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('known kinds with arbitrary payloads either interpret or throw invalid_op (fuzz)', () => {
    const kind = fc.constantFrom('node.set', 'body.update', 'link.add', 'link.remove');
    const target = fc.constantFrom(NODE, 'tag:x', linkId(NODE, 'parent', NODE2), 'x y');
    const payload = fc.dictionary(
      fc.constantFrom('field', 'value', 'prev', 'update', 'src', 'dst', 'type', 'observed', 'z'),
      fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.constantFrom(NODE, NODE2, 'title', 'state', 'parent', 'wiki', [ID2], 'AQID'),
      ),
    );
    fc.assert(
      fc.property(kind, target, payload, (k, t, p) => {
        try {
          interpretOp(op(k, t, p));
        } catch (e) {
          expect(e).toBeInstanceOf(HephError);
          expect((e as HephError).code).toBe('invalid_op');
        }
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});

describe('opContent', () => {
  it('is independent of key order and excludes the id', () => {
    const a = op('node.set', NODE, { field: 'title', value: { b: 1, a: 2 }, prev: [] });
    const b: Op = {
      id: ID2,
      target: NODE,
      kind: 'node.set',
      payload: { prev: [], value: { a: 2, b: 1 }, field: 'title' },
    };
    expect(opContent(a)).toBe(opContent(b));
    expect(opContent(a)).not.toBe(opContent({ ...b, payload: { ...b.payload, value: 'x' } }));
  });
});
