// The node flags hephd runs with, wherever it is started: the bin's shebang (bin/hephd.js),
// `npm start`, `heph daemon start` (detached and the systemd unit) and the benchmarks. They must
// be given at launch: V8 ignores them once the heap exists.
//
// --max-semi-space-size=16 (MB, V8's own ceiling on 64-bit machines with enough memory, fixed
// here so it holds on smaller ones too): a hub's push parses a thousand ops that live until its
// commit; with smaller semi-spaces they outlive scavenges and are copied and promoted. Measured
// on a hub, 1,000-op pushes: 6.4-9.5 ms of CPU each at 16 MB against 9.5-11.5 ms at 4 MB and
// 15 ms at 2 MB (532 scavenges per 405 pushes at 4 MB, 127 at 16). The price is a device
// daemon's memory after bursts of writes: 196 MB after 116,000 ops at 16 MB against 173-187 MB
// at 4 MB (idle 71 MB either way); one launch flag serves both modes. --optimize-for-size in
// mode local was tried (125 MB after those ops) and not kept: a new device's first sync took
// 7.85 s instead of 4.41 s, and `heph next` 129 ms over node's start instead of 72.

export const HEPHD_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
