// A non-loopback IPv4 address this test process can listen on and reach, for tests of what heph
// does with a server that is not on loopback. As root with iproute2 (CI: .ci/run installs it) it
// makes a network namespace and a veth pair whose host end gets 10.x.y.1/30 (the other end,
// 10.x.y.2, lives in the namespace); close() deletes the namespace, which deletes the pair.
// Otherwise it uses an address of one of this machine's own interfaces. If neither exists it
// throws, saying why: a test that needs one fails loudly rather than skipping.
//
//   const net = await nonLoopbackAddress();   // { address: '10.213.7.1', how: '...' }
//   server.listen(0, net.address);
//   await net.close();

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

export interface NonLoopback {
  address: string;
  /** How the address was obtained, for the test log. */
  how: string;
  close(): Promise<void>;
}

const NS_PREFIX = 'heph-test-';

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Namespaces left by test processes that died before their close(). */
function removeStale(): void {
  let names: string[];
  try {
    names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '');
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^heph-test-(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && !existsSync(`/proc/${pid}`)) {
      try {
        ip(['netns', 'del', name]);
      } catch {
        // another process removed it first
      }
    }
  }
}

function viaNamespace(): NonLoopback {
  removeStale();
  const tag = randomBytes(3).toString('hex');
  const ns = `${NS_PREFIX}${process.pid}-${tag}`;
  const host = `hh${tag}`; // interface names are at most 15 bytes
  const peer = `hn${tag}`;
  const b = randomBytes(3);
  const net = `10.${200 + ((b[0] ?? 0) % 50)}.${b[1] ?? 0}.${((b[2] ?? 0) % 64) * 4}`;
  const base = net.split('.').slice(0, 3).join('.');
  const last = Number(net.split('.')[3]);
  const address = `${base}.${last + 1}`;
  ip(['netns', 'add', ns]);
  try {
    ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', peer, 'netns', ns]);
    ip(['addr', 'add', `${address}/30`, 'dev', host]);
    ip(['link', 'set', host, 'up']);
    ip(['-n', ns, 'addr', 'add', `${base}.${last + 2}/30`, 'dev', peer]);
    ip(['-n', ns, 'link', 'set', peer, 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    ip(['netns', 'del', ns]);
    throw e;
  }
  let closed = false;
  return {
    address,
    how: `veth ${host} (${address}/30) paired with network namespace ${ns}`,
    close() {
      if (!closed) {
        closed = true;
        ip(['netns', 'del', ns]);
      }
      return Promise.resolve();
    },
  };
}

function ownInterface(): NonLoopback | undefined {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const a = addrs?.find((x) => x.family === 'IPv4' && !x.internal);
    if (a !== undefined) {
      return {
        address: a.address,
        how: `this machine's interface ${name} (${a.address})`,
        close: () => Promise.resolve(),
      };
    }
  }
  return undefined;
}

export function nonLoopbackAddress(): Promise<NonLoopback> {
  let why = 'not running as root';
  if (process.getuid?.() === 0) {
    try {
      return Promise.resolve(viaNamespace());
    } catch (e) {
      why = `ip netns / veth failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`;
    }
  }
  const own = ownInterface();
  if (own !== undefined) return Promise.resolve(own);
  return Promise.reject(
    new Error(
      `no non-loopback address for this test (${why}, and no interface of this machine has ` +
        'an IPv4 address off loopback): run the tests as root with iproute2 installed',
    ),
  );
}
