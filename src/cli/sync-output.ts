// How `heph sync` and `heph sync status` read to a person. The data is what sync.now and
// sync.status return (and what --json prints); these lines only arrange it.

import type { Styles } from './output.js';
import { isRec, type Rec } from './wire.js';

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** "2 changes (5 ops)", or "none". */
function changes(v: unknown): string {
  const c = isRec(v) ? v : {};
  const ch = num(c.changes);
  const ops = num(c.ops);
  if (ch === 0 && ops === 0) return 'none';
  return `${count(ch, 'change')} (${count(ops, 'op')})`;
}

function clock(iso: unknown): string {
  // The daemon keeps these in memory: "never" would be wrong after a restart.
  if (typeof iso !== 'string') return 'none since hephd started';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** After `heph sync`: it only succeeds when the hub has every change made here. */
export function syncedLines(r: Rec): string {
  const verdict = typeof r.verdict === 'string' ? r.verdict : '';
  const open = verdict.split(' · ').slice(1);
  const lines = [
    `Synced: the hub has every change made here · pulled ${count(num(r.pulled), 'update')} ` +
      `(${num(r.applied).toLocaleString('en-US')} new here) · pushed ${count(num(r.pushed), 'op')}`,
  ];
  for (const o of open) lines.push(`  ${o}`);
  return lines.join('\n');
}

/** `heph sync status [--details]`: the verdict, then the facts behind it. */
export function syncStatusLines(r: Rec, details: boolean, s: Styles): string {
  const lines = [typeof r.verdict === 'string' ? r.verdict : 'sync status'];
  const e = isRec(r.last_error) ? r.last_error : undefined;
  const rows: [string, string][] = [];
  if (typeof r.hub === 'string') rows.push(['hub', r.hub]);
  if (r.mode !== 'client' && r.hub !== null) {
    rows.push(['last success', clock(r.last_success)]);
    rows.push(['last attempt', clock(r.last_attempt)]);
    if (e) rows.push(['last error', `${String(e.message)} (since ${clock(e.since)})`]);
    rows.push(['to upload', changes(r.pending)]);
    rows.push(['to download', num(r.unpulled) === 0 ? 'none' : count(num(r.unpulled), 'update')]);
    rows.push(['refused', changes(r.refused)]);
  }
  rows.push(['conflicts', num(r.conflicts) === 0 ? 'none' : String(num(r.conflicts))]);
  if (typeof r.device_name === 'string') rows.push(['device', r.device_name]);
  if (typeof r.replica_id === 'string') rows.push(['replica', r.replica_id]);
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) lines.push(`  ${s.dim((k + ':').padEnd(w + 1))} ${v}`);
  const q = Array.isArray(r.quarantined) ? r.quarantined.filter(isRec) : [];
  if (details) {
    const drift = q.filter((x) => x.code === 'clock_drift');
    const refused = q.filter((x) => x.code !== 'clock_drift');
    if (q.length === 0) {
      lines.push('', 'Nothing is held back: the hub refused no change from this device.');
    }
    if (drift.length > 0) {
      lines.push(
        '',
        `Held until this device's clock is right (${count(drift.length, 'op')}, sent again then):`,
        `  ${String(drift[0]?.message)}`,
      );
    }
    if (refused.length > 0) {
      lines.push('', 'Refused by the hub (kept here, never sent again):');
      for (const x of refused) {
        const on = typeof x.target === 'string' ? ` on ${x.target}` : '';
        lines.push(`  ${s.dim(String(x.id))}${on}: ${String(x.message)}`);
      }
    }
  } else if (q.some((x) => x.code !== 'clock_drift')) {
    lines.push('', s.dim('See what was refused and why: heph sync status --details'));
  }
  return lines.join('\n');
}
