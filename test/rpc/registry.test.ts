import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HephError } from '../../src/core/errors.js';
import { defineMethod, EVERYWHERE, parseParams, Registry } from '../../src/rpc/registry.js';
import { testRegistry } from './fixtures.js';

const m = (name: string, params: z.ZodType = z.object({})) =>
  defineMethod({
    name,
    summary: 's',
    role: 'viewer',
    surfaces: EVERYWHERE,
    params,
    result: z.null(),
    handler: () => null,
  });

function invalidField(schema: z.ZodType, raw: unknown): { field: unknown; message: string } {
  try {
    parseParams(schema, raw);
  } catch (e) {
    if (e instanceof HephError && e.code === 'invalid_params')
      return { field: e.details.field, message: e.message };
    throw e;
  }
  throw new Error('expected invalid_params');
}

describe('Registry', () => {
  it('refuses duplicates, bad names, rpc.* and non-snake_case params', () => {
    expect(() => new Registry([[m('a.b')], [m('a.b')]])).toThrow(/duplicate/);
    expect(() => new Registry([[m('Node.get')]])).toThrow(/bad RPC method name/);
    expect(() => new Registry([[m('node get')]])).toThrow(/bad RPC method name/);
    expect(() => new Registry([[m('rpc.hack')]])).toThrow(/reserved/);
    expect(() => new Registry([[m('a.b', z.object({ doDate: z.string() }))]])).toThrow(
      /snake_case/,
    );
    expect(() => new Registry([[m('a.b', z.object({ do_date: z.string() }))]])).not.toThrow();
  });

  it('rpc.methods lists every method with JSON Schema params and summary', async () => {
    const reg = testRegistry();
    const def = reg.get('rpc.methods')!;
    const out = JSON.parse(JSON.stringify(await def.handler({}, undefined as never)));
    const names: string[] = out.methods.map((x: { name: string }) => x.name);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('rpc.methods');
    expect(names).toContain('next');
    expect(names).toContain('test.nested');
    const nested = out.methods.find((x: { name: string }) => x.name === 'test.nested');
    expect(nested.summary).toBe('Validates nested params.');
    expect(nested.params.type).toBe('object');
    expect(nested.params.required).toEqual(['task']);
    expect(nested.params.properties.task.properties.do_date.type).toBe('string');
  });
});

describe('parseParams', () => {
  const schema = z.strictObject({
    task: z.strictObject({ title: z.string(), do_date: z.iso.date().optional() }),
    tags: z.array(z.string()).optional(),
  });

  it('returns parsed params and treats missing params as {}', () => {
    expect(parseParams(schema, { task: { title: 't' } })).toEqual({ task: { title: 't' } });
    expect(parseParams(z.object({ a: z.number().optional() }), undefined)).toEqual({});
  });

  it('names the first bad field as a dotted path', () => {
    expect(invalidField(schema, {}).field).toBe('task');
    expect(invalidField(schema, { task: { title: 1 } }).field).toBe('task.title');
    const r = invalidField(schema, { task: { title: 't', do_date: 'tomorrow' } });
    expect(r.field).toBe('task.do_date');
    expect(r.message).toMatch(/^task\.do_date: /);
    expect(invalidField(schema, { task: { title: 't' }, tags: ['a', 2] }).field).toBe('tags.1');
    expect(invalidField(schema, { task: { title: 't', colour: 'red' } })).toEqual({
      field: 'task.colour',
      message: 'task.colour: unknown parameter',
    });
  });

  it('refuses positional and non-object params', () => {
    expect(invalidField(schema, ['a']).field).toBe('params');
    expect(invalidField(schema, 'x').message).toMatch(/named/);
  });
});
