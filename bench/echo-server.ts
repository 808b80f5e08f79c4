// A bare NDJSON echo server on a unix socket, run as a child process by the echo floor so that
// client and server are two processes, like the CLI and the daemon. Writes "ready" on stdout
// once listening; exits when stdin closes or on SIGTERM.

import { serveLines } from './line-server.js';

const socketPath = process.argv[2];
if (socketPath === undefined) {
  process.stderr.write('usage: echo-server <socket path>\n');
  process.exit(2);
}

const server = serveLines((line) => line);

function stop(): void {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}

server.listen(socketPath, () => process.stdout.write('ready\n'));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
