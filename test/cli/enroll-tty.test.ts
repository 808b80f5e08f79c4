// `heph auth enroll` at a real terminal: util-linux `script` gives the built CLI a pseudo-terminal
// on standard input, as a person's shell would. The CLI prompts, the token is typed (and sent with
// Enter) and never echoed back: the terminal's output holds the prompt and the result, never the
// token; the device is enrolled with it. A control beside it: the same terminal echoes what is
// typed to a program that does not hide it (`head -n 1`), so the test can see an echo.

import { spawn } from 'node:child_process';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deviceCredentialStores } from '../../src/auth/device-credential.js';
import { systemClock } from '../../src/ports/clock.js';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';
import { useCleanup } from '../helpers/temp.js';
import { signInWith } from '../hub/device-helpers.js';
import { makeHub, type TestHub } from '../hub/helpers.js';
import { assertBuilt, baseEnv, HEPH, startDaemon, tempHome } from './helpers.js';

let op: OidcTestProvider;
let hub: TestHub;
const cleanups = useCleanup();

beforeAll(async () => {
  assertBuilt();
  op = await startOidcProvider({ accessTokenTtlSec: 3600 });
  hub = await makeHub({
    clock: systemClock,
    auth: signInWith(op),
  });
  await hub.listen();
}, 30_000);

afterAll(async () => {
  await hub?.close();
  await op?.close();
});

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `command` on a pseudo-terminal; types `typed` (then Enter) once `waitFor` is shown
 *  (at once without it). */
function atTerminal(
  command: string,
  env: Record<string, string>,
  waitFor: RegExp | undefined,
  typed: string,
): Promise<{ code: number | null; screen: string }> {
  return new Promise((done, fail) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { ...env, SHELL: '/bin/sh' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    let sent = waitFor === undefined;
    if (sent) child.stdin.write(typed + '\r');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (c: Buffer) => {
      screen += c.toString('utf8');
      if (!sent && waitFor!.test(screen)) {
        sent = true;
        child.stdin.write(typed + '\r');
      }
    });
    child.stderr.on('data', (c: Buffer) => (screen += c.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      done({ code, screen });
    });
  });
}

it('prompts on a terminal, does not echo the token, and enrols with it', async () => {
  const home = tempHome();
  cleanups.defer(() => home.cleanup());
  const d = await startDaemon(home.dir, ['--hub-url', hub.url], home.env);
  cleanups.defer(() => d.stop());
  const env = baseEnv({ ...home.env, HEPH_SOCKET: d.socket });
  const alice = await op.mintToken({ sub: 'alice' });
  const r = await request(`${hub.url}/rpc`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'device.enroll',
      params: { name: 'terminal box' },
    }),
  });
  const { result } = (await r.body.json()) as { result: { token: string; device: { id: string } } };

  // Control: this terminal echoes what is typed to a program that does not hide it.
  const echoed = await atTerminal('head -n 1', env, undefined, 'he_visible_when_echoed');
  expect(echoed.screen).toContain('he_visible_when_echoed');

  const out = await atTerminal(
    `${quote(process.execPath)} ${quote(HEPH)} auth enroll --hub ${quote(hub.url)}`,
    env,
    /Enrolment token \(he_…, not shown as you type or paste\): /,
    result.token,
  );
  expect(out.code, out.screen).toBe(0);
  expect(out.screen).toContain(`Enrolled this device with ${hub.url} as "terminal box"`);
  expect(out.screen).not.toContain(result.token);
  expect(out.screen).not.toContain(result.token.slice(3, 20));
  const held = await deviceCredentialStores(home.env).file.get(hub.url);
  expect(held).toMatchObject({ device_id: result.device.id, name: 'terminal box' });
});
