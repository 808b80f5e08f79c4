// A bare NDJSON echo server on a unix socket, run as a child process by the echo floor so that
// client and server are two processes, like the CLI and the daemon. Writes "ready" on stdout
// once listening; exits when stdin closes or on SIGTERM.

import { createServer } from 'node:net';

const socketPath = process.argv[2];
if (socketPath === undefined) {
  process.stderr.write('usage: echo-server <socket path>\n');
  process.exit(2);
}

const server = createServer((socket) => {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let nl = pending.indexOf('\n');
    while (nl !== -1) {
      socket.write(pending.slice(0, nl + 1));
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
  });
  socket.on('error', () => socket.destroy());
});

function stop(): void {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}

server.listen(socketPath, () => process.stdout.write('ready\n'));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
