// The node flags hephd runs with, wherever it is started: the bin's shebang (bin/hephd.js),
// `npm start`, `heph daemon start` (detached and the systemd unit) and the benchmarks. They must
// be given at launch: V8 ignores them once the heap exists.
//
// --max-semi-space-size=4 (MB; V8's default grows to 16): the young generation is what a
// long-running daemon holds longest between bursts of work. Measured on a daemon after 40,000
// ops of task.create/task.update over its socket: 168 MB RSS with the defaults, 139 MB with a
// 2 MB semi-space. 2 MB cost the hub a quarter of its CPU per 1,000-op push (a push's parsed ops
// outlive a scavenge and were copied and promoted: 15 ms against 11 ms of CPU at 4 MB), while
// 4 MB left the daemon's resident memory where 2 MB had it (idle 78-82 MB, 120-122 MB after
// 45,000 ops, in the same run) — one flag serves both modes. In mode local hephd also sets
// --optimize-for-size once it knows its mode (src/daemon/main.ts): V8 reads it as the heap grows.

export const HEPHD_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
