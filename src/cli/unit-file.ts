// The systemd user unit that runs hephd, rendered from absolute paths. Pure, so it is tested
// without systemd. Arguments are quoted by systemd's rules: double quotes with backslash
// escapes, `%` doubled (specifiers) and `$` doubled (environment expansion). hephd runs with the
// node flags of mode local (config/node-flags.ts; `heph daemon` starts no other mode) between the
// node binary and the script.

import { hephdNodeFlags } from '../config/node-flags.js';

export interface UnitOptions {
  /** Absolute path of the node binary. */
  node: string;
  /** Absolute path of bin/hephd.js. */
  hephd: string;
  /** hephd's flags, e.g. ['--mode', 'local', '--socket', '/run/user/1000/heph/hephd.sock']. */
  args: readonly string[];
}

export const UNIT_NAME = 'hephd.service';

export function systemdQuote(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@%+=:,./$-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function renderUnit(o: UnitOptions): string {
  const exec = [o.node, ...hephdNodeFlags('local'), o.hephd, ...o.args].map(systemdQuote).join(' ');
  return [
    '[Unit]',
    'Description=heph daemon (notes and tasks)',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    'Restart=always',
    'RestartSec=2',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}
