// docs/rpc-methods.md and the roles table of docs/hub-admin.md are generated from the method
// registries of a daemon and a hub; this fails when either is stale, so the docs always match what
// `rpc.methods` reports.

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, useDaemons } from './helpers.js';

const run = promisify(execFile);
const SCRIPT = join(REPO, 'scripts', 'gen-rpc-docs.mjs');
const DOC = join(REPO, 'docs', 'rpc-methods.md');
const ADMIN_DOC = join(REPO, 'docs', 'hub-admin.md');
const REGENERATE = 'npm run build && node scripts/gen-rpc-docs.mjs';

const h = useDaemons();
let generated: string;
let sockets: string[];
let methods: {
  name: string;
  role: string;
  surfaces: string[];
  params: { properties?: Record<string, unknown> };
}[];

beforeAll(async () => {
  const dir = h.dir();
  const [d, hub] = await Promise.all([
    h.start({ db: join(dir, 'heph.db'), socket: join(dir, 'd.sock') }),
    h.start({
      db: join(dir, 'hub', 'hub.db'),
      socket: join(dir, 'h.sock'),
      args: ['--mode', 'server', '--http-addr', '127.0.0.1:0'],
    }),
  ]);
  sockets = ['--socket', d.socket, '--hub-socket', hub.socket];
  const c = await h.client(d.socket);
  methods = ((await c.call('rpc.methods')) as { methods: typeof methods }).methods;
  // Rendered from these processes' registries, so the comparison needs no more of them.
  generated = (await run(process.execPath, [SCRIPT, '--stdout', ...sockets])).stdout;
}, 30_000);

/** Runs the script with --check; its failure, or undefined when it passed. */
const check = (args: string[]) =>
  run(process.execPath, [SCRIPT, '--check', ...sockets, ...args]).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );

describe('docs/rpc-methods.md', () => {
  it(`matches the registry (regenerate with \`${REGENERATE}\`)`, () => {
    const current = readFileSync(DOC, 'utf8');
    expect(current, `docs/rpc-methods.md is stale: run \`${REGENERATE}\``).toBe(generated);
  });

  it('documents every method and every parameter', () => {
    expect(methods.length).toBeGreaterThan(10);
    for (const m of methods) {
      expect(generated).toContain(`\n### ${m.name}\n`);
      for (const p of Object.keys(m.params.properties ?? {})) {
        expect(generated, `${m.name} param ${p}`).toMatch(new RegExp(`\\| \`${p}\` +\\|`));
      }
    }
  });

  it('gives each method its role and surfaces', () => {
    for (const m of methods) {
      const on = m.surfaces.map((s) => (s === 'http' ? '`/rpc`' : s)).join(', ');
      expect(generated).toContain(`### ${m.name}\n`);
      expect(generated, m.name).toMatch(
        new RegExp(
          `### ${m.name.replace('.', '\\.')}\n\n.*\n\nRole: \`${m.role}\`. Served on: ${on}\\.`,
        ),
      );
    }
  });

  it('docs/hub-admin.md lists every method with its role and surfaces', async () => {
    expect(await check([])).toBeUndefined();
    const admin = readFileSync(ADMIN_DOC, 'utf8');
    for (const m of methods) {
      const row = new RegExp(
        `\\| \\[\`${m.name.replace('.', '\\.')}\`\\]\\(rpc-methods\\.md#[a-z_]+\\) +\\| ${m.role} +\\| ` +
          `${m.surfaces.includes('socket') ? 'yes' : '—'} +\\| ${m.surfaces.includes('http') ? 'yes' : '—'} +\\|`,
      );
      expect(admin, m.name).toMatch(row);
    }
  });

  it('--check fails on stale files, naming each', async () => {
    const dir = h.dir();
    const out = join(dir, 'rpc-methods.md');
    const adminOut = join(dir, 'hub-admin.md');
    writeFileSync(out, generated.replace('### node.get', '### node.fetch'));
    // A role changed by hand in the roles table.
    const admin = readFileSync(ADMIN_DOC, 'utf8');
    const edited = admin.replace(/(\[`node\.update`\][^|]*\| )editor/, '$1viewer');
    expect(edited).not.toBe(admin);
    writeFileSync(adminOut, edited);
    const failure = await check(['--out', out, '--admin-out', adminOut]);
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain(`${out} is stale: regenerate it with \`${REGENERATE}\``);
    expect(failure?.stderr).toContain(`${adminOut} is stale: regenerate it with \`${REGENERATE}\``);
  });
});
