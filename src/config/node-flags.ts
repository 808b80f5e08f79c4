// The node flags hephd runs with, wherever it is started: the bin's shebang (bin/hephd.js),
// `npm start`, `heph daemon start` (detached and the systemd unit) and the benchmarks. They must
// be given at launch: V8 ignores them once the heap exists.
//
// --max-semi-space-size=2 (MB; V8's default grows to 16): the young generation is what a
// long-running daemon holds longest between bursts of work. Measured on a daemon after 40,000
// ops of task.create/task.update over its socket: 168 MB RSS with the defaults, 139 MB with this
// flag, with no loss of write throughput (short-lived objects of one call are small).

export const HEPHD_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
