import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HephError } from '../../src/core/errors.js';
import {
  defineMethod,
  EVERYWHERE,
  parseParams,
  Registry,
  type MethodDef,
} from '../../src/rpc/registry.js';
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

  it('a method must declare its role and surfaces: the build fails without, and so does the registry', () => {
    const bare = { name: 'a.b', summary: 's', params: z.object({}), result: z.null() };
    // @ts-expect-error -- no role and no surfaces: this does not compile.
    defineMethod({ ...bare, handler: () => null });
    // @ts-expect-error -- a role that does not exist.
    defineMethod({ ...bare, role: 'owner', surfaces: EVERYWHERE, handler: () => null });
    // Code that got around the type (a cast, plain JS) is refused when the registry is built.
    const sneak = (extra: object) =>
      new Registry([[{ ...bare, handler: () => null, ...extra } as unknown as MethodDef]]);
    expect(() => sneak({ surfaces: EVERYWHERE })).toThrow(/a\.b: declares no role/);
    expect(() => sneak({ role: 'root', surfaces: EVERYWHERE })).toThrow(/declares no role/);
    expect(() => sneak({ role: 'viewer' })).toThrow(/a\.b: surfaces must be/);
    expect(() => sneak({ role: 'viewer', surfaces: [] })).toThrow(/surfaces must be/);
    expect(() => sneak({ role: 'viewer', surfaces: ['socket', 'socket'] })).toThrow(/each once/);
    expect(() => sneak({ role: 'viewer', surfaces: ['smtp'] })).toThrow(/surfaces must be/);
    expect(() => sneak({ role: 'editor', surfaces: ['http'] })).not.toThrow();
  });

  it('rpc.methods gives each method its role and surfaces', async () => {
    const reg = new Registry([
      [
        m('a.read'),
        { ...m('a.write'), role: 'editor' },
        { ...m('a.admin'), role: 'admin', surfaces: ['http'] },
      ],
    ]);
    const out = (await reg.get('rpc.methods')!.handler({}, undefined as never)) as {
      methods: { name: string; role: string; surfaces: string[] }[];
    };
    expect(out.methods.map(({ name, role, surfaces }) => [name, role, surfaces])).toEqual([
      ['a.admin', 'admin', ['http']],
      ['a.read', 'viewer', ['socket', 'http']],
      ['a.write', 'editor', ['socket', 'http']],
      ['rpc.methods', 'viewer', ['socket', 'http']],
    ]);
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
