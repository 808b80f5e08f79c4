// The shipped `hephd` runs the daemon bundled (scripts/bundle-daemon.mjs): a running daemon
// holds the source text of every module it loaded, so in local mode it loads the bundle's
// chunks and, from node_modules, only what it cannot run without (better-sqlite3 and its
// loader, pino and its helpers), never a file of dist/src, and never the hub's or sign-in's
// packages. Module loading is recorded by a resolve hook registered with --import.

import { readFileSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { REPO, useDaemons } from './helpers.js';

const daemons = useDaemons();

it('hephd in local mode runs the bundle and loads no file of dist/src nor any hub or sign-in package', async () => {
  const dir = daemons.dir();
  const out = join(dir, 'loaded.txt');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';\n` +
      `export async function resolve(specifier, context, next) {\n` +
      `  const r = await next(specifier, context);\n` +
      `  appendFileSync(${JSON.stringify(out)}, r.url + '\\n');\n` +
      `  return r;\n` +
      `}\n`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\n` +
      `register(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  const d = await daemons.start({
    db: join(dir, 'heph.db'),
    socket: join(dir, 'd.sock'),
    env: { NODE_OPTIONS: `--import ${pathToFileURL(register).href}` },
  });
  const c = await daemons.client(d.socket);
  await c.call('task.create', { title: 'Water the plants' });
  expect(await c.call('next')).toMatchObject({ tasks: [{ title: 'Water the plants' }] });
  await d.stop();

  const files = [
    ...new Set(
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((u) => u.startsWith('file:'))
        .map((u) => fileURLToPath(u)),
    ),
  ];
  const bundle = join(REPO, 'dist', 'bundle', 'daemon') + sep;
  const modules = join(REPO, 'node_modules') + sep;
  // The positive control: the hook saw the bundle's entry and its chunks.
  expect(files).toContain(join(bundle, 'main.js'));
  expect(files.filter((f) => f.startsWith(bundle)).length).toBeGreaterThan(1);
  expect(files.filter((f) => f.startsWith(join(REPO, 'dist', 'src')))).toEqual([]);
  const packages = new Set(
    files
      .filter((f) => f.startsWith(modules))
      .map((f) => f.slice(modules.length).split(sep).slice(0, 1)[0]),
  );
  for (const p of [
    'fastify',
    'oidc-provider',
    'pg',
    'undici',
    'jose',
    'openid-client',
    '@napi-rs',
  ]) {
    expect(packages.has(p), `${p} loaded`).toBe(false);
  }
  // Bundled packages are not loaded again from node_modules.
  for (const p of ['zod', 'yjs', 'lib0', 'rrule'])
    expect(packages.has(p), `${p} loaded`).toBe(false);
});
