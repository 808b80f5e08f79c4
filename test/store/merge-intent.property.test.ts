// Merge safety judged by what people meant, not by agreement. Random devices import the same
// and different versions of shared notes before they sync, read bodies, edit them later with and
// without the body_version they read (every edit adds one unique marker line, or removes one it
// saw), and sync with a hub in random interleavings. After all of them heal, the intent oracle:
// - every replica holds the same state (agreement, necessary but not enough);
// - every acknowledged marker is there exactly once, in the text shown or in a conflict head,
//   unless an acknowledged edit that saw it removed it (then it is gone);
// - every line of every imported file version is there, and never twice in one text (the same
//   file imported on several devices is one copy; different versions are conflict heads, never
//   concatenated); a version another import replaced on a device that showed it may be gone.
// The oracle is mutation-checked: the same runs with saves and imports done as heph did them
// before merge safety (a first text by the device's own Yjs client; a stale save diffed against
// the current body) must fail it. Seeded: HEPH_PROPERTY_SEED and HEPH_PROPERTY_RUNS override.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../src/core/hlc.js';
import { applyImport, type ImportNote } from '../../src/model/vault-import.js';
import { saveBody, yjsClientId } from '../../src/store/body-crdt.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { openTestStore, type TestStore } from '../helpers/store.js';

const SEED = Number(process.env.HEPH_PROPERTY_SEED ?? 20261207);
const RUNS = Number(process.env.HEPH_PROPERTY_RUNS ?? 40);
const DEVICES = 3;
const NOTES = 2;

type Step =
  | { t: 'import'; d: number; n: number; v: number }
  | { t: 'read'; d: number; n: number }
  | { t: 'edit'; d: number; n: number; at: number; base: boolean }
  | { t: 'remove'; d: number; n: number; base: boolean }
  | { t: 'sync'; d: number };

const stepArb: fc.Arbitrary<Step> = (() => {
  const d = fc.nat(DEVICES - 1);
  const n = fc.nat(NOTES - 1);
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ t: fc.constant('import' as const), d, n, v: fc.nat(1) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('read' as const), d, n }) },
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('edit' as const),
        d,
        n,
        at: fc.nat(20),
        base: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ t: fc.constant('remove' as const), d, n, base: fc.boolean() }),
    },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('sync' as const), d }) },
  );
})();

const noteId = (n: number) => `vault:Note${n}`;

/** Version v of note n: lines that name their file version, so each can be counted. */
function fileText(n: number, v: number): string {
  return [0, 1, 2].map((i) => `<F${n}.${v}.${i}>\n`).join('');
}

/** How heph saves and imports; `before` is how it did before merge safety (the mutation). */
interface Writer {
  importNote(s: SqliteStore, n: number, v: number): void;
  save(s: SqliteStore, id: string, text: string, base: string | undefined): void;
}

const now: Writer = {
  importNote(s, n, v) {
    const note: ImportNote = {
      path: `Note ${n}.md`,
      id: noteId(n),
      kind: 'doc',
      title: `Note ${n}`,
      aliases: [],
      body: fileText(n, v),
      task: {},
      extra: {},
      links: [],
    };
    applyImport(s, { notes: [note], skipped: 0, problems: [] });
  },
  save(s, id, text, base) {
    s.updateNode(id, { body: text, ...(base !== undefined && { base_version: base }) });
  },
};

const before: Writer = {
  importNote(s, n, v) {
    if (s.findNode(noteId(n))) return;
    // The node as an import made it, and its first text by this device's own Yjs client.
    s.importNode({ id: noteId(n), kind: 'doc', title: `Note ${n}` });
    const saved = saveBody(undefined, fileText(n, v), yjsClientId(s.origin));
    const h = s.clockState();
    const id = encodeHlc({ wall: h.wall, counter: h.counter + 1, origin: s.origin });
    const r = s.applyOps([
      {
        id,
        kind: 'body.update',
        target: noteId(n),
        payload: { update: Buffer.from(saved!.update).toString('base64') },
      },
    ]);
    expect(r.refused).toEqual([]);
  },
  // A save was diffed against the body as it is now, whatever the editor had read.
  save(s, id, text) {
    s.updateNode(id, { body: text });
  },
};

interface World {
  hub: TestStore;
  devices: TestStore[];
  reads: Map<string, { body: string; version: string }>;
  markers: Map<string, { note: string; removed: boolean }>;
  imported: Set<string>;
  next: number;
}

function exchange(from: SqliteStore, to: SqliteStore): void {
  to.applyOps(from.opsSince(0, 100_000).ops);
}

function sync(w: World, d: number): void {
  const s = w.devices[d]!.store;
  exchange(s, w.hub.store);
  exchange(w.hub.store, s);
}

function lines(text: string): string[] {
  return text.split('\n');
}

function run(w: World, writer: Writer, step: Step): void {
  const s = w.devices[step.d]!.store;
  if (step.t === 'sync') return sync(w, step.d);
  const id = noteId(step.n);
  const key = `${step.d}:${id}`;
  if (step.t === 'import') {
    // Each device imports each note once, before or after it has it from elsewhere.
    if (w.imported.has(key)) return;
    w.imported.add(key);
    // Importing over a note this device has is an edit: the file's version replaces the version
    // shown here, which may then be gone.
    const shown = s.findNode(id)?.body ?? '';
    for (let v = 0; v < 2; v++) {
      if (v !== step.v && shown.includes(`<F${step.n}.${v}.0>`)) {
        w.imported.add(`${id}@${v}:replaced`);
      }
    }
    writer.importNote(s, step.n, step.v);
    w.imported.add(`${id}@${step.v}`);
    return;
  }
  const node = s.findNode(id);
  if (!node) return;
  if (step.t === 'read') {
    w.reads.set(key, { body: node.body, version: node.body_version });
    return;
  }
  const read = step.base ? w.reads.get(key) : undefined;
  const seen = read ?? { body: node.body, version: node.body_version };
  const text = lines(seen.body);
  if (step.t === 'edit') {
    const marker = `<M${w.next++}>`;
    text.splice(step.at % (text.length + 1), 0, marker);
    writer.save(s, id, text.join('\n'), read?.version);
    w.markers.set(marker, { note: id, removed: false });
  } else {
    const at = text.findIndex((l) => /^<M\d+>$/.test(l));
    if (at < 0) return;
    const [marker] = text.splice(at, 1);
    writer.save(s, id, text.join('\n'), read?.version);
    w.markers.get(marker!)!.removed = true;
  }
  // The editor reads what it saved (an editor's buffer after :w).
  const after = s.getNode(id);
  w.reads.set(key, { body: after.body, version: after.body_version });
}

/** Every text a note holds: the one shown and every conflict head's. */
function texts(s: SqliteStore, id: string): string[] {
  const node = s.findNode(id);
  if (!node) return [];
  const heads = s.conflicts().find((c) => c.target === id && c.field === 'body')?.heads ?? [];
  return heads.length > 0
    ? heads.map((h) => (typeof h.value === 'string' ? h.value : ''))
    : [node.body];
}

/** How many times a marker stands in the texts (as text: a line may have been merged into another). */
function count(all: readonly string[], marker: string): number {
  return all.reduce((k, t) => k + t.split(marker).length - 1, 0);
}

/** Runs the steps, heals, and checks the oracle; throws saying what the user lost. */
function check(writer: Writer, steps: readonly Step[]): void {
  const w: World = {
    hub: openTestStore(),
    devices: Array.from({ length: DEVICES }, () => openTestStore()),
    reads: new Map(),
    markers: new Map(),
    imported: new Set(),
    next: 0,
  };
  try {
    for (const step of steps) {
      for (const d of w.devices) d.clock.advance(1000);
      run(w, writer, step);
    }
    for (let round = 0; round < 2; round++) for (let d = 0; d < DEVICES; d++) sync(w, d);
    const digests = new Set([w.hub, ...w.devices].map((x) => x.store.digest()));
    expect(digests.size, 'every replica holds the same state').toBe(1);
    const s = w.hub.store;
    for (const [marker, m] of w.markers) {
      expect(count(texts(s, m.note), marker), `marker ${marker} in ${m.note}`).toBe(
        m.removed ? 0 : 1,
      );
    }
    for (let n = 0; n < NOTES; n++) {
      for (let v = 0; v < 2; v++) {
        if (!w.imported.has(`${noteId(n)}@${v}`)) continue;
        const replaced = w.imported.has(`${noteId(n)}@${v}:replaced`);
        const all = texts(s, noteId(n));
        for (const line of lines(fileText(n, v)).filter((l) => l !== '')) {
          // Never twice in one text; in some text unless a later import replaced it.
          for (const t of all)
            expect(count([t], line), `file line ${line} in one text`).toBeLessThan(2);
          if (!replaced) expect(count(all, line), `file line ${line}`).toBeGreaterThan(0);
        }
      }
    }
  } finally {
    for (const x of [w.hub, ...w.devices]) x.close();
  }
}

const stepsArb = fc.array(stepArb, { minLength: 4, maxLength: 30 });

describe('merge safety: what every edit meant survives', () => {
  it(`imports, stale and fresh saves and syncs in any interleaving (seed ${SEED})`, () => {
    console.log(`merge intent property: seed ${SEED}, ${RUNS} runs`);
    fc.assert(
      fc.property(stepsArb, (steps) => check(now, steps)),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('the oracle catches how heph merged before (mutation check)', () => {
    const found = fc.check(
      fc.property(stepsArb, (steps) => check(before, steps)),
      { seed: SEED, numRuns: RUNS },
    );
    expect(found.failed, 'the old way of saving and importing passes the oracle').toBe(true);
    // It fails on what the user meant (a line lost or doubled), not on the harness.
    expect(String(found.errorInstance)).toMatch(/(marker <M\d+>|file line <F[\d.]+>)/);
    console.log(
      `mutation check: the old way fails after ${found.numRuns} runs: ${String(found.errorInstance).split('\n')[0]}`,
    );
  });
});
