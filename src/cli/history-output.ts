// How heph history, heph revert and heph undo read to a person. The data is what node.history,
// node.revert, undo and undo.list return (and what --json prints); these lines only arrange it.

import type { Styles } from './output.js';
import { isRec, type Rec } from './wire.js';

function text(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
}

function recsOf(r: Rec, key: string): Rec[] {
  const v = r[key];
  return Array.isArray(v) ? v.filter(isRec) : [];
}

/** A moment in the user's zone: "today 14:05", "yesterday 09:30", "2026-03-01 18:12". */
export function when(iso: unknown, today: string): string {
  if (typeof iso !== 'string') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const two = (n: number) => String(n).padStart(2, '0');
  const day = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  const time = `${two(d.getHours())}:${two(d.getMinutes())}`;
  const t = Date.parse(`${today}T00:00:00Z`);
  const diff = Math.round((Date.parse(`${day}T00:00:00Z`) - t) / 86_400_000);
  const label = diff === 0 ? 'today' : diff === -1 ? 'yesterday' : day;
  return `${label} ${time}`;
}

function shortNode(r: Rec): string {
  const id = text(r.id);
  return typeof r.short_id === 'string' ? r.short_id : id;
}

export function historyLines(r: Rec, s: Styles, today: string): string {
  const versions = recsOf(r, 'versions');
  const head = `${s.bold(text(r.title) || text(r.id))}  ${s.dim(shortNode(r))}`;
  if (versions.length === 0) return `${head}\nNo versions${r.more === true ? ' here' : ''}.`;
  const cols = versions.map((v) => [
    text(v.short_version),
    when(v.at, today),
    text(v.device),
    text(v.summary),
  ]);
  const w = [0, 1, 2].map((i) => Math.max(...cols.map((c) => (c[i] ?? '').length)));
  const lines = cols.map(
    ([v, at, device, summary]) =>
      `${s.yellow((v ?? '').padEnd(w[0]!))}  ${s.dim((at ?? '').padEnd(w[1]!))}  ` +
      `${(device ?? '').padEnd(w[2]!)}  ${summary ?? ''}`,
  );
  const out = [head, ...lines];
  if (r.more === true) {
    const last = versions[versions.length - 1]!;
    out.push(
      s.dim(`Older versions: heph history ${shortNode(r)} --before ${text(last.short_version)}`),
    );
  }
  return out.join('\n');
}

export function revertedLines(r: Rec, s: Styles, today: string): string {
  const node = isRec(r.node) ? r.node : {};
  const name = `${JSON.stringify(text(node.title))} (${shortNode(node)})`;
  const changed = Array.isArray(r.changed) ? r.changed.map(text) : [];
  const version = text(r.short_version);
  if (changed.length === 0) {
    return `Nothing to write back: ${name} already is as it was at ${version}.`;
  }
  return (
    `Reverted ${name} to ${s.yellow(version)}${r.at === undefined ? '' : ` (${when(r.at, today)})`}: ` +
    `wrote back ${changed.join(', ')}.\n` +
    s.dim('The newer versions stay in heph history; heph undo takes this back.')
  );
}

function skippedLines(skipped: Rec[]): string[] {
  return skipped.map(
    (k) => `  ${text(k.what)} of ${JSON.stringify(text(k.title) || text(k.id))} ${text(k.reason)}`,
  );
}

export function undoneLines(r: Rec, s: Styles, today: string): string {
  const skipped = recsOf(r, 'skipped');
  const at = when(r.at, today);
  const lines = [`Undid ${at === '' ? 'a change' : `the change of ${at}`}: ${text(r.summary)}`];
  if (skipped.length > 0) {
    lines.push(s.yellow('Left alone (changed since):'), ...skippedLines(skipped));
  }
  return lines.join('\n');
}

export function undoListLines(r: Rec, s: Styles, today: string): string {
  const changes = recsOf(r, 'changes');
  if (changes.length === 0) return 'Nothing to undo on this device.';
  const w = Math.max(...changes.map((c) => text(c.short_change).length));
  const out = ['Changes heph undo takes back, the next one first:'];
  for (const c of changes) {
    const skipped = recsOf(c, 'skipped');
    const note =
      c.undoable === false
        ? s.red('  (nothing of it can be undone: changed since)')
        : skipped.length > 0
          ? s.yellow(`  (would leave ${skipped.map((k) => text(k.what)).join(', ')} alone)`)
          : '';
    out.push(
      `${s.yellow(text(c.short_change).padEnd(w))}  ${s.dim(when(c.at, today))}  ${text(c.summary)}${note}`,
    );
  }
  return out.join('\n');
}
