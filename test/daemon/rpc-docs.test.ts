// docs/rpc-methods.md is generated from the method registry; this fails when it is stale, so the
// docs always match what `rpc.methods` reports.

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, useDaemons } from './helpers.js';

const run = promisify(execFile);
const SCRIPT = join(REPO, 'scripts', 'gen-rpc-docs.mjs');
const DOC = join(REPO, 'docs', 'rpc-methods.md');
const REGENERATE = 'npm run build && node scripts/gen-rpc-docs.mjs';

const h = useDaemons();
let generated: string;
let socket: string;
let methods: { name: string; params: { properties?: Record<string, unknown> } }[];

beforeAll(async () => {
  const dir = h.dir();
  const d = await h.start({ db: join(dir, 'heph.db'), socket: join(dir, 'd.sock') });
  socket = d.socket;
  const c = await h.client(d.socket);
  methods = ((await c.call('rpc.methods')) as { methods: typeof methods }).methods;
  // Rendered from this daemon's registry, so the comparison needs no second process.
  generated = (await run(process.execPath, [SCRIPT, '--stdout', '--socket', d.socket])).stdout;
});

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

  it('--check fails on a stale file', async () => {
    const out = join(h.dir(), 'rpc-methods.md');
    writeFileSync(out, generated.replace('### node.get', '### node.fetch'));
    const failure = await run(process.execPath, [
      SCRIPT,
      '--check',
      '--out',
      out,
      '--socket',
      socket,
    ]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain(`is stale: regenerate it with \`${REGENERATE}\``);
  });
});
