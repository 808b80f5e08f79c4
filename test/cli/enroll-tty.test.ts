// `heph auth enroll` at a real terminal: util-linux `script` gives the built CLI a pseudo-terminal
// on standard input, as a person's shell would. The CLI prompts, the token is typed (and sent with
// Enter) and never echoed back: the terminal's output holds the prompt and the result, never the
// token; the device is enrolled with it. A control beside it: the same terminal echoes what is
// typed to a program that does not hide it (`head -n 1`), so the test can see an echo.

import { spawn } from 'node:child_process';

import { expect, it } from 'vitest';
import { deviceCredentialStores } from '../../src/auth/device-credential.js';

import { HEPH } from './helpers.js';
import { useSignedInHub } from './signed-in-hub.js';

const fx = useSignedInHub();

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
  const { home, env } = await fx.machine();
  const result = await fx.rpc<{ token: string; device: { id: string } }>('device.enroll', {
    name: 'terminal box',
  });

  // Control: this terminal echoes what is typed to a program that does not hide it.
  const echoed = await atTerminal('head -n 1', env, undefined, 'he_visible_when_echoed');
  expect(echoed.screen).toContain('he_visible_when_echoed');

  const out = await atTerminal(
    `${quote(process.execPath)} ${quote(HEPH)} auth enroll --hub ${quote(fx.hub.url)}`,
    env,
    /Enrolment token \(he_…, not shown as you type or paste\): /,
    result.token,
  );
  expect(out.code, out.screen).toBe(0);
  expect(out.screen).toContain(`Enrolled this device with ${fx.hub.url} as "terminal box"`);
  expect(out.screen).not.toContain(result.token);
  expect(out.screen).not.toContain(result.token.slice(3, 20));
  const held = await deviceCredentialStores(home.env).file.get(fx.hub.url);
  expect(held).toMatchObject({ device_id: result.device.id, name: 'terminal box' });
});
