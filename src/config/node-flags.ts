// The node flags hephd runs with, wherever it is started: the bin's shebang (bin/hephd.js),
// `npm start`, `heph daemon start` (detached and the systemd unit) and the benchmarks. They must
// be given at launch: V8 ignores them once the heap exists.
//
// --max-semi-space-size=16 (MB, V8's own ceiling on 64-bit machines with enough memory, fixed
// here so it holds on smaller ones too): a hub's push parses a thousand ops that live until its
// commit; with smaller semi-spaces they outlive scavenges and are copied and promoted. Measured
// on a hub, 1,000-op pushes: 6.4-9.5 ms of CPU each at 16 MB against 9.5-11.5 ms at 4 MB and
// 15 ms at 2 MB (532 scavenges per 405 pushes at 4 MB, 127 at 16). A device's daemon used to
// run with 4 MB for its memory (168 MB RSS after 40,000 ops with V8's defaults, 139 MB at 2 MB);
// since hephd in mode local sets --optimize-for-size once it knows its mode
// (src/daemon/main.ts; V8 reads it as the heap grows), the semi-space no longer matters there:
// idle 66.4 MB at 16 and 66.5 at 4, after 100,000 ops 136 and 130 MB, in the same run.

export const HEPHD_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
