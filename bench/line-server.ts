// What the bench's child servers (echo-server.ts, write-floor-server.ts) share: serving one
// line-delimited request at a time on a unix socket, and being started by the bench process,
// which waits for the child's "ready" on stdout.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';

/** In the child: answers each line a peer sends with what `answer` returns for it. */
export function serveLines(answer: (line: string) => string): Server {
  return createServer((socket) => {
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl !== -1) {
        socket.write(answer(pending.slice(0, nl + 1)));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
    });
    socket.on('error', () => socket.destroy());
  });
}

/** In the bench: runs `node [flags] script ...args`; resolves once it writes "ready". */
export async function startReady(
  what: string,
  script: string,
  args: readonly string[],
  flags: readonly string[] = [],
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...flags, script, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${what} exited early (code ${code})`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (d.includes('ready')) resolve();
    });
  });
  return child;
}
