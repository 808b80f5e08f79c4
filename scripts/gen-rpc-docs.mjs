#!/usr/bin/env node
// Renders docs/rpc-methods.md from the method registry exactly as clients see it: it starts the
// built hephd on a throwaway database and socket, asks `rpc.methods`, and renders every method
// (name, summary, params and result tables from their JSON Schemas) plus the error table from
// dist/src/protocol/error-wire.js, formatted with the repository's prettier settings so that
// `prettier --check` and the staleness test (test/daemon/rpc-docs.test.ts) agree.
//
//   npm run build && node scripts/gen-rpc-docs.mjs     regenerate docs/rpc-methods.md
//   node scripts/gen-rpc-docs.mjs --check               exit 1 when the file is stale
//   node scripts/gen-rpc-docs.mjs --stdout              print instead of writing
//   --out PATH      another file than docs/rpc-methods.md
//   --socket PATH   ask this running daemon instead of starting one

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_OUT = join(ROOT, 'docs', 'rpc-methods.md');
const DIST = join(ROOT, 'dist', 'src');
const REGENERATE = 'npm run build && node scripts/gen-rpc-docs.mjs';

/** A built module, with a clear message when the build is missing. */
async function importBuilt(rel) {
  const file = join(DIST, rel);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run \`npm run build\` first`);
  }
  return import(pathToFileURL(file).href);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the built daemon on a temp database; returns its socket and a stop function. */
async function startDaemon() {
  const dir = mkdtempSync(join(tmpdir(), 'heph-docs-'));
  const socket = join(dir, 'd.sock');
  const env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') };
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'hephd.js'), '--db', join(dir, 'heph.db'), '--socket', socket],
    { env: { ...env, HEPH_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('close', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  return { socket, stop, failed: () => (child.exitCode !== null ? stderr : undefined) };
}

async function fetchMethods(socketFlag) {
  const { connect } = await importBuilt('transport/socket-client.js');
  const daemon = socketFlag === undefined ? await startDaemon() : undefined;
  const socket = socketFlag ?? daemon.socket;
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const client = await connect(socket);
        try {
          return (await client.call('rpc.methods')).methods;
        } finally {
          await client.close();
        }
      } catch (e) {
        const failed = daemon?.failed();
        if (failed !== undefined) throw new Error(`hephd exited before answering:\n${failed}`);
        if (daemon === undefined || Date.now() > deadline) throw e;
        await sleep(20);
      }
    }
  } finally {
    await daemon?.stop();
  }
}

// ---- rendering ------------------------------------------------------------------------------

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s) => '`' + s + '`';

/** The recursive "any JSON value" schema zod emits for z.json(). */
function isJsonValue(schema) {
  const types = new Set((schema?.anyOf ?? []).map((s) => s.type));
  return ['string', 'number', 'boolean', 'null', 'array', 'object'].every((t) => types.has(t));
}

function resolveRef(ref, defs) {
  const name = ref.replace(/^#\/\$defs\//, '');
  return { name, schema: defs[name] };
}

/** A short type expression for a JSON Schema. */
function typeOf(s, defs, seen = new Set()) {
  if (s === undefined || s === true || Object.keys(s).length === 0) return 'any';
  if (s.$ref !== undefined) {
    const { name, schema } = resolveRef(s.$ref, defs);
    if (isJsonValue(schema)) return 'JSON value';
    if (schema === undefined || seen.has(name)) return name;
    return typeOf(schema, defs, new Set([...seen, name]));
  }
  if (isJsonValue(s)) return 'JSON value';
  if (s.const !== undefined) return code(JSON.stringify(s.const));
  if (Array.isArray(s.enum)) return s.enum.map((v) => code(JSON.stringify(v))).join(' or ');
  const alts = s.anyOf ?? s.oneOf;
  if (Array.isArray(alts)) return alts.map((a) => typeOf(a, defs, seen)).join(' or ');
  switch (s.type) {
    case 'array': {
      const item = typeOf(s.items, defs, seen);
      return item.includes(' or ') ? `array of (${item})` : `array of ${item}`;
    }
    case 'object':
      if (s.properties !== undefined) return 'object';
      if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
        return `object of string to ${typeOf(s.additionalProperties, defs, seen)}`;
      }
      return 'object';
    default:
      return Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
  }
}

const isSafeMax = (n) => n >= Number.MAX_SAFE_INTEGER;

/** "1–10 items", "at least 1 item", "at most 5 characters"; unit is a plural noun or ''. */
function range(min, max, unit) {
  const u = (n) => (unit === '' ? '' : ` ${n === 1 ? unit.slice(0, -1) : unit}`);
  const hasMax = max !== undefined && !isSafeMax(max);
  if (min !== undefined && hasMax) return `${min}–${max}${u(max)}`;
  if (min !== undefined) return `at least ${min}${u(min)}`;
  if (hasMax) return `at most ${max}${u(max)}`;
  return undefined;
}

/** Constraints and description of one schema, in words. */
function notesOf(s, defs) {
  if (s === undefined) return [];
  if (s.$ref !== undefined) {
    const { schema } = resolveRef(s.$ref, defs);
    return isJsonValue(schema) ? [] : notesOf(schema, defs);
  }
  const notes = [];
  if (s.description !== undefined) notes.push(s.description);
  const alts = s.anyOf ?? s.oneOf;
  if (Array.isArray(alts)) for (const a of alts) notes.push(...notesOf(a, defs));
  const chars = range(s.minLength, s.maxLength, 'characters');
  if (chars) notes.push(chars);
  const value = range(s.minimum, s.maximum, '');
  if (value) notes.push(value);
  if (s.exclusiveMinimum !== undefined) notes.push(`greater than ${s.exclusiveMinimum}`);
  if (s.exclusiveMaximum !== undefined) notes.push(`less than ${s.exclusiveMaximum}`);
  const items = range(s.minItems, s.maxItems, 'items');
  if (items) notes.push(items);
  if (s.pattern !== undefined) notes.push(`matches ${code(s.pattern)}`);
  if (s.format !== undefined) notes.push(`format ${s.format}`);
  if (s.default !== undefined) notes.push(`default ${code(JSON.stringify(s.default))}`);
  if (s.type === 'array' && s.items !== undefined) {
    const inner = notesOf(s.items, defs);
    if (inner.length > 0) notes.push(`each: ${inner.join('; ')}`);
  }
  return [...new Set(notes)];
}

/** One row per parameter; an object parameter's own properties follow as `parent.child`. */
function paramRows(schema, defs, prefix = '') {
  const rows = [];
  const required = new Set(schema.required ?? []);
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const full = prefix + name;
    rows.push([
      code(full),
      typeOf(prop, defs),
      required.has(name) ? 'yes' : 'no',
      notesOf(prop, defs).join('; '),
    ]);
    if (prop.type === 'object' && prop.properties !== undefined) {
      rows.push(...paramRows(prop, defs, `${full}.`));
    }
  }
  return rows;
}

/** The object a field holds, directly, as array items, or as the non-null alternative. */
function objectIn(s) {
  if (s === undefined) return undefined;
  if (s.type === 'object' && s.properties !== undefined) return { schema: s, suffix: '.' };
  if (s.type === 'array' && s.items?.type === 'object' && s.items.properties !== undefined) {
    return { schema: s.items, suffix: '[].' };
  }
  const alts = (s.anyOf ?? []).filter((a) => a.type !== 'null');
  if (alts.length === 1 && (s.anyOf ?? []).length === 2) return objectIn(alts[0]);
  return undefined;
}

/** One row per result field, nested objects (and arrays of them) as `parent.child`. */
function resultRows(schema, defs, prefix = '') {
  const rows = [];
  const required = new Set(schema.required ?? []);
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const full = prefix + name;
    const notes = notesOf(prop, defs);
    if (!required.has(name)) notes.unshift('optional');
    rows.push([code(full), typeOf(prop, defs), notes.join('; ')]);
    const inner = objectIn(prop);
    if (inner !== undefined) rows.push(...resultRows(inner.schema, defs, full + inner.suffix));
  }
  return rows;
}

function renderResult(schema) {
  const defs = schema.$defs ?? {};
  const one = (s) =>
    s.type === 'object' && s.properties !== undefined
      ? table(['Field', 'Type', 'Notes'], resultRows(s, defs))
      : code(typeOf(s, defs));
  const alts = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(alts)) {
    const out = ['Result, one of:'];
    alts.forEach((a, i) => {
      out.push(`${i + 1}. ${a.description ?? 'otherwise'}:`);
      out.push(one(a));
    });
    return out;
  }
  const out = [schema.description === undefined ? 'Result:' : `Result (${schema.description}):`];
  out.push(one(schema));
  return out;
}

function table(head, rows) {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

const namespaceOf = (name) => (name.includes('.') ? name.slice(0, name.indexOf('.')) : '');
const anchor = (name) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9_ -]/g, '')
    .replace(/ /g, '-');

function renderMethod(m) {
  const out = [`### ${m.name}`, m.summary];
  const rows = paramRows(m.params, m.params.$defs ?? {});
  out.push(
    rows.length === 0 ? 'Params: none.' : table(['Param', 'Type', 'Required', 'Notes'], rows),
  );
  out.push(...renderResult(m.result));
  return out;
}

export function render(methods, errorWire) {
  const out = [];
  out.push('# JSON-RPC methods');
  out.push(
    `Generated from the method registry (\`rpc.methods\` of a freshly started hephd) by ` +
      `\`${REGENERATE}\`. Do not edit by hand: \`test/daemon/rpc-docs.test.ts\` fails when this ` +
      `file differs from the registry.`,
  );
  out.push(
    'hephd speaks JSON-RPC 2.0 on its unix socket, one JSON object per line. Params are named ' +
      '(an object); unknown params are refused. A bad call gets error -32602 with ' +
      '`error.data.field` naming the parameter; application errors carry a stable string code ' +
      'in `error.data.code` (see [Errors](#errors)).',
  );
  out.push(`## Methods (${methods.length})`);
  out.push(
    table(
      ['Method', 'Summary'],
      methods.map((m) => [`[${code(m.name)}](#${anchor(m.name)})`, m.summary]),
    ),
  );
  // Top-level methods first, then one section per namespace; each in name order.
  const groups = new Map();
  // Code-unit order, not the locale's: the output must not depend on the machine.
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  for (const m of [...methods].sort((a, b) => cmp(a.name, b.name))) {
    const ns = namespaceOf(m.name);
    if (!groups.has(ns)) groups.set(ns, []);
    groups.get(ns).push(m);
  }
  const order = [...groups.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : cmp(a, b)));
  for (const ns of order) {
    out.push(ns === '' ? '## Top-level methods' : `## ${ns}.*`);
    for (const m of groups.get(ns)) out.push(...renderMethod(m));
  }
  out.push('## Errors');
  out.push(
    'Every application error is a JSON-RPC error whose `data.code` is one of these strings. ' +
      'The same table gives the hub’s HTTP status and the CLI’s exit code.',
  );
  out.push(
    table(
      ['data.code', 'JSON-RPC code', 'HTTP status', 'CLI exit code'],
      Object.entries(errorWire).map(([c, w]) => [code(c), w.rpc, w.http, w.exit]),
    ),
  );
  out.push(
    'Protocol errors have no `data.code`: -32700 parse error (id null), -32600 invalid request, ' +
      '-32601 method not found.',
  );
  return out.join('\n\n') + '\n';
}

async function format(markdown, path) {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(path)) ?? {};
  return prettier.format(markdown, { ...options, filepath: path });
}

export async function generate({ socket, out = DEFAULT_OUT } = {}) {
  const methods = await fetchMethods(socket);
  const { ERROR_WIRE } = await importBuilt('protocol/error-wire.js');
  return format(render(methods, ERROR_WIRE), out);
}

async function main() {
  const { values } = parseArgs({
    options: {
      check: { type: 'boolean' },
      stdout: { type: 'boolean' },
      out: { type: 'string' },
      socket: { type: 'string' },
    },
  });
  const out = values.out ?? DEFAULT_OUT;
  const text = await generate({ socket: values.socket, out });
  if (values.stdout) {
    process.stdout.write(text);
  } else if (values.check) {
    const current = existsSync(out) ? readFileSync(out, 'utf8') : '';
    if (current !== text) {
      process.stderr.write(`${out} is stale: regenerate it with \`${REGENERATE}\`\n`);
      process.exitCode = 1;
    }
  } else {
    writeFileSync(out, text);
    process.stderr.write(`wrote ${out}\n`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    process.stderr.write(`gen-rpc-docs: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
