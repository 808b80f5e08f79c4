// The node flags hephd runs with, by mode. They must be on node's command line (V8 reads them
// only when the heap is made), so every launch gives them: the `hephd` command (bin/hephd, a
// shell launcher that picks them from the mode and execs node), `npm start`, `heph daemon start`
// (detached and the systemd unit, mode local) and the benchmarks. hephd checks them at start
// (nodeFlagsMismatch) and warns when they are not its mode's.
//
// The device (modes local and client), --max-semi-space-size=4 (MB): the young generation is
// what a long-running device daemon holds longest between bursts of work. Measured in full quiet
// bench runs, a daemon after 116,000 ops written over its socket: 173 MB RSS at 4 MB, 233 MB at
// 16 MB (idle 71 MB either way). --optimize-for-size was tried too (125 MB after those ops) and
// not kept: a new device's first sync took 7.85 s instead of 4.41 s, and `heph next` 129 ms over
// node's start instead of 72.
//
// The hub (mode server), --max-semi-space-size=16: a 1,000-op push parses ops that live until its
// commit; at 4 MB they outlive scavenges and are copied again and again. Hub CPU per 1,000-op
// push, medians of 11 rounds alternating the sizes (100 pushes after 130, load 4 to 10): 4 MB
// 8.4 ms, 8 MB 8.8, 16 MB 6.8, 32 MB 7.6. V8 (node 20) takes sizes above 16 (its new space grows
// to twice the semi-space), but 32 bought no CPU over 16 and holds more memory.

import type { Mode } from './config.js';

const DEVICE: readonly string[] = ['--max-semi-space-size=4'];
const HUB: readonly string[] = ['--max-semi-space-size=16'];

/** The node flags hephd runs with in `mode`. */
export function hephdNodeFlags(mode: Mode): readonly string[] {
  return mode === 'server' ? HUB : DEVICE;
}

/** The value each `--name=value` flag was last given in NODE_OPTIONS, then on the command line
 *  (node reads them in that order), with V8's `_` in names read as `-`. */
function givenFlags(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): Map<string, string> {
  const given = new Map<string, string>();
  const words = [...(nodeOptions ?? '').split(/\s+/), ...execArgv].filter((w) => w !== '');
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('--')) continue;
    const eq = w.indexOf('=');
    const name = (eq < 0 ? w : w.slice(0, eq)).replace(/_/g, '-');
    if (eq >= 0) given.set(name, w.slice(eq + 1));
    else if (i + 1 < words.length && !words[i + 1]!.startsWith('-')) given.set(name, words[++i]!);
    else given.set(name, '');
  }
  return given;
}

/**
 * The flags of `mode` this process was not started with (empty when it was): hephd warns about
 * them, as a hub started by hand as `node bin/hephd.js` runs with the device's young generation.
 */
export function nodeFlagsMismatch(
  mode: Mode,
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] {
  const given = givenFlags(execArgv, nodeOptions);
  return hephdNodeFlags(mode).filter((flag) => {
    const eq = flag.indexOf('=');
    return given.get(flag.slice(0, eq)) !== flag.slice(eq + 1);
  });
}
