// The node flags hephd runs with, wherever it is started: the bin's shebang (bin/hephd.js),
// `npm start`, `heph daemon start` (detached and the systemd unit) and the benchmarks. They must
// be given at launch: V8 ignores them once the heap exists.
//
// --max-semi-space-size=4 (MB; V8's own ceiling is 16 on 64-bit machines with enough memory):
// the young generation is what a long-running device daemon holds longest between bursts of
// work. Measured in full quiet bench runs, a daemon after 116,000 ops written over its socket:
// 173 MB RSS at 4 MB, 233 MB at 16 MB (idle 71 MB either way). The hub pays for it: a 1,000-op
// push parses ops that live until its commit and outlive scavenges at 4 MB (9.5-11.5 ms of CPU
// per push against 6.4-9.5 ms at 16 MB and 15 ms at 2 MB; push_ops_per_s 0.32 of the raw insert
// floor at 16 MB, short of its 0.35 target either way). One launch flag serves both modes, and
// a device's memory is what every user holds all day. --optimize-for-size in mode local was
// tried too (125 MB after those ops) and not kept: a new device's first sync took 7.85 s
// instead of 4.41 s, and `heph next` 129 ms over node's start instead of 72.

export const HEPHD_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
