import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { History } from '../../src/model/history.js';
import { Model } from '../../src/model/model.js';
import type { TaskListResult } from '../../src/model/types.js';
import { SELECT_SHOWABLE } from '../../src/model/views.js';
import { search } from '../../src/model/search.js';
import { Undo } from '../../src/model/undo.js';
import { wikiBacklinks } from '../../src/model/wiki.js';
import { ManualClock } from '../../src/ports/clock.js';
import { seededRandom } from '../../src/ports/random.js';
import { SCHEMA_VERSION } from '../../src/store/migrate.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/open-store.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/temp.js';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'store-v1.sqlite');
const facts = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'store-v1.json'), 'utf8'),
) as { digest: string; opCount: number; overview: string; task: string; deleted: string };

let t: { dir: string; cleanup(): void };
const open: SqliteStore[] = [];
beforeEach(() => {
  t = tempDir();
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  t.cleanup();
});

function openAt(path: string): SqliteStore {
  const s = openStore(
    { path },
    { clock: new ManualClock(Date.UTC(2026, 5, 1)), random: seededRandom(5) },
  );
  open.push(s);
  return s;
}

/** sqlite_master without comments and with whitespace normalized, sorted by name. */
function schemaOf(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db
      .prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as { type: string; name: string; tbl_name: string; sql: string | null }[];
    return rows.map((r) => {
      const sql = (r.sql ?? '')
        .replace(/--[^\n]*/g, '')
        .replace(/\s+/g, ' ')
        .replace(/\s*([(),])\s*/g, '$1')
        .trim();
      return `${r.type} ${r.name} ${r.tbl_name} ${sql}`;
    });
  } finally {
    db.close();
  }
}

/** A committed database fixture (test/fixtures/NAME.sqlite). */
function fixturePath(name: string): string {
  return join(import.meta.dirname, '..', 'fixtures', `${name}.sqlite`);
}

/** The facts its maker wrote beside it (test/fixtures/NAME.json). */
function fixtureFacts<T>(name: string): T {
  return JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'fixtures', `${name}.json`), 'utf8'),
  ) as T;
}

/** Opening a copy of `fixture` migrates it to the schema a new database gets. */
function expectSchemaOfNew(fixture: string): void {
  const old = join(t.dir, 'old.db');
  copyFileSync(fixture, old);
  openAt(old).close();
  const fresh = join(t.dir, 'fresh.db');
  openAt(fresh).close();
  expect(schemaOf(old)).toEqual(schemaOf(fresh));
}

describe('schema migrations', () => {
  it('has one migration per version step', () => {
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length + 1);
    expect(SCHEMA_VERSION).toBe(12);
  });

  it('upgrades a version 1 file: data intact, search and backlinks work', () => {
    const path = join(t.dir, 'old.db');
    copyFileSync(FIXTURE, path);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(1);
    raw.close();

    const s = openAt(path);
    expect(s.connection.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.opCount()).toBe(facts.opCount);
    // "Überblick" is the task's context doc (linked canonical-context): one item with the task,
    // titled as the task, its text and aliases found through the task. Every op is as it was;
    // only that title is shown differently, so the digest differs from version 1's by it alone.
    const overview = s.getNode(facts.overview);
    expect(overview.title).toBe('Pay rent');
    expect(s.fieldHeads(facts.overview, 'title').map((h) => h.value)).toEqual(['Überblick']);
    expect(s.digest()).not.toBe(facts.digest);
    expect(search(s, { query: 'ermöglichen' }).map((r) => r.id)).toEqual([facts.task]);
    expect(search(s, { query: 'gardening' }).map((r) => r.id)).toEqual([facts.task]);
    expect(search(s, { query: 'rent' }).map((r) => r.id)).toEqual([facts.task]);
    expect(search(s, { query: 'temporary' })).toEqual([]);
    // The task's own body links to "overview", the doc's alias: a name of the task now.
    expect(wikiBacklinks(s, facts.task).map((b) => b.id)).toEqual([facts.task]);
    const digest = s.digest();
    s.rebuild();
    expect(s.digest()).toBe(digest);
  });

  it('gives a migrated file the same schema as a new one', () => {
    const old = join(t.dir, 'old.db');
    copyFileSync(FIXTURE, old);
    openAt(old).close();
    const fresh = join(t.dir, 'fresh.db');
    openAt(fresh).close();
    const migrated = schemaOf(old);
    expect(migrated).toEqual(schemaOf(fresh));
    expect(migrated.join('\n')).toContain('search_fts');
  });
});

describe('a device database of schema version 5 (before a task and its context doc were one item)', () => {
  const V5 = fixturePath('store-v5');
  const v5 = fixtureFacts<{
    opCount: number;
    conflicts: { target: string; field: string }[];
    milk: { task: string; context: string };
    trip: { task: string; context: string };
    chore: { task: string; context: string };
    timetable: string;
    bodies: Record<string, string>;
  }>('store-v5');

  it('upgrades: the context doc title conflict is gone, the task is one item everywhere', () => {
    const path = join(t.dir, 'v5.db');
    copyFileSync(V5, path);
    const s = openAt(path);
    expect(s.connection.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.opCount()).toBe(v5.opCount);
    // Before: the task's title and its context doc's title, two conflicts for one rename.
    expect(v5.conflicts).toEqual([
      { target: v5.trip.task, field: 'title' },
      { target: v5.trip.context, field: 'title' },
    ]);
    expect(s.conflicts().map((c) => ({ target: c.target, field: c.field }))).toEqual([
      { target: v5.trip.task, field: 'title' },
    ]);
    const bodies: Record<string, string> = {};
    for (const n of s.listNodes({ scope: 'all', limit: 1000 })) bodies[n.id] = n.body;
    expect(bodies).toEqual(v5.bodies);
    const trip = s.getNode(v5.trip.task);
    expect(s.getNode(v5.trip.context).title).toBe(trip.title);
    // Search and name lookup find the task once (the index was made afresh by the new rules).
    expect(search(s, { query: 'ferry' }).map((r) => r.id)).toEqual([v5.trip.task]);
    expect(search(s, { query: 'ferry times' }).map((r) => r.id)).toEqual([v5.trip.task]);
    expect(search(s, { query: 'milk' }).map((r) => r.id)).toEqual([v5.milk.task]);
    expect(s.resolveNode('Buy milk').id).toBe(v5.milk.task);
    // While the title is in conflict, a link by either name finds the task.
    expect(wikiBacklinks(s, v5.trip.task)).toEqual([]);
    for (const name of ['Plan the trip', 'Plan a trip']) {
      s.createNode({ kind: 'doc', title: `about ${name}`, body: `[[${name}]]` });
    }
    expect(wikiBacklinks(s, v5.trip.task).map((b) => b.title)).toEqual([
      'about Plan a trip',
      'about Plan the trip',
    ]);
    // Lists show items: the docs that are tasks' context docs are not listed on their own,
    // also the one whose task was deleted by that version (which left the doc live).
    const docs = s.listNodes({ kind: 'doc', items: true, limit: 100 }).map((n) => n.title);
    expect(docs.sort()).toEqual(['Timetable', 'about Plan a trip', 'about Plan the trip']);
    expect(s.listNodes({ scope: 'trash', items: true }).map((n) => n.id)).toEqual([v5.chore.task]);
    const digest = s.digest();
    s.rebuild();
    expect(s.digest()).toBe(digest);
  });

  it('migrates to the same schema as a new database', () => {
    expectSchemaOfNew(V5);
  });
});

describe('a spoke database of schema version 4', () => {
  const V4 = fixturePath('store-v4');
  const v4 = fixtureFacts<{
    digest: string;
    opCount: number;
    origin: string;
    pendingOps: number;
    conflicts: number;
    ideas: string;
    bodies: Record<string, string>;
  }>('store-v4');

  it('opens and migrates with every body, field, conflict and sync cursor kept', () => {
    const path = join(t.dir, 'v4.db');
    copyFileSync(V4, path);
    const s = openAt(path);
    expect(s.connection.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.origin).toBe(v4.origin);
    expect(s.digest()).toBe(v4.digest);
    expect(s.opCount()).toBe(v4.opCount);
    expect(s.conflicts()).toHaveLength(v4.conflicts);
    const bodies: Record<string, string> = {};
    for (const n of s.listNodes({ scope: 'all', limit: 1000 })) bodies[n.id] = n.body;
    expect(bodies).toEqual(v4.bodies);
    // Ops written before change ids existed are a change each: that is all that is known of them.
    const pushed = Number(s.getSetting('sync.push_seq'));
    expect(s.countOwnOpsSince(pushed)).toBe(v4.pendingOps);
    expect(s.countOwnChangesSince(pushed)).toBe(v4.pendingOps);
    // A command after the upgrade is one change, however many ops it writes.
    s.createNode({ kind: 'task', title: 'After the upgrade', attention: 'red' });
    expect(s.countOwnOpsSince(pushed)).toBe(v4.pendingOps + 4);
    expect(s.countOwnChangesSince(pushed)).toBe(v4.pendingOps + 1);
    s.rebuild();
    expect(s.countOwnChangesSince(pushed)).toBe(v4.pendingOps + 1);
  });

  it('lists every version, shows, reverts and undoes on the migrated file', () => {
    const path = join(t.dir, 'v4.db');
    copyFileSync(V4, path);
    const s = openAt(path);
    const history = new History(s, { ownDevice: 'this device' });
    // Ops written before change ids existed are a version each; the other device's as well.
    const ideas = history.list(v4.ideas, { limit: 100 }).versions;
    expect(ideas.map((v) => [v.device, v.summary])).toEqual([
      ['this device', '+2 −0 lines'],
      ['this device', 'title: "Ideas" → "Ideas (mine)"'],
      ['00fb86738b42c835', 'title: "Ideas" → "Ideas (theirs)"'],
      ['this device', '+3 −0 lines'],
      ['this device', 'aliases: ideas list'],
      ['this device', 'title: "Ideas"'],
      ['this device', 'created doc'],
    ]);
    const now = s.getNode(v4.ideas);
    const latest = history.at(v4.ideas, ideas[0]!.version);
    expect(latest).toMatchObject({ title: now.title, body: v4.bodies[v4.ideas] });
    const titled = history.at(v4.ideas, ideas[5]!.version);
    expect(titled).toMatchObject({ title: 'Ideas', body: '', aliases: [] });
    const older = history.at(v4.ideas, ideas[3]!.version);
    expect(older.aliases).toEqual(['ideas list']);
    // Before the offline edit that put a line in the middle.
    expect(older.body).toBe('A ferry to the islands.\n\nBack [[Home]].');

    const digest = s.digest();
    const r = history.revert(v4.ideas, ideas[3]!.version);
    expect(r.changed).toEqual(['title', 'body']);
    expect(s.getNode(v4.ideas)).toMatchObject({ title: 'Ideas', body: older.body });
    // The undo list starts with the revert, then the changes the fixture had not pushed.
    const undo = new Undo(history);
    const list = undo.list(4).changes;
    expect(list[0]!.summary).toBe('"Ideas": title: "Ideas (mine)" → "Ideas", +0 −2 lines');
    expect(list.slice(1).every((c) => c.undoable)).toBe(true);
    undo.undo();
    expect(s.getNode(v4.ideas)).toMatchObject({ title: now.title, body: v4.bodies[v4.ideas] });
    expect(s.digest()).not.toBe(digest); // new ops, so the title register's heads moved on
    expect(s.conflicts()).toHaveLength(v4.conflicts - 1);
    s.rebuild();
    expect(history.list(v4.ideas, { limit: 100 }).versions).toHaveLength(ideas.length + 2);
  });

  it('migrates to the same schema as a new database', () => {
    expectSchemaOfNew(V4);
  });
});

describe('a device database of schema version 7 (the index of ops by node held ids, kinds and changes)', () => {
  const V7 = fixturePath('store-v7');
  const v7 = fixtureFacts<{
    digest: string;
    opCount: number;
    origin: string;
    report: { id: string; history: unknown[]; body: string };
    milk: { task: string; context: string; history: unknown[] };
    trip: { task: string; context: string };
    conflicts: { target: string; field: string }[];
  }>('store-v7');

  it('upgrades with every op, field, body, conflict and history version kept', () => {
    const path = join(t.dir, 'v7.db');
    copyFileSync(V7, path);
    const s = openAt(path);
    expect(s.connection.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.origin).toBe(v7.origin);
    expect(s.opCount()).toBe(v7.opCount);
    expect(s.digest()).toBe(v7.digest);
    expect(s.conflicts().map((c) => ({ target: c.target, field: c.field }))).toEqual(v7.conflicts);
    expect(s.getNode(v7.report.id).body).toBe(v7.report.body);
    const history = new History(s);
    expect(history.list(v7.report.id).versions).toEqual(v7.report.history);
    expect(history.list(v7.milk.task).versions).toEqual(v7.milk.history);
    // Titles are found as names compare: trimmed, ASCII letters in either case; exact lookups
    // still match the title as written only.
    expect(s.nodesTitled('Buy milk')).toEqual([v7.milk.task]);
    expect(s.nodesTitled(' QUARTERLY report')).toEqual([v7.report.id]);
    expect(s.nodesTitled('Quarterly')).toEqual([]);
    expect(s.resolveNode('  buy MILK ').id).toBe(v7.milk.task);
    expect(() => s.resolveNode('Buy milk')).toThrow(/no node has/);
    const digest = s.digest();
    s.rebuild();
    expect(s.digest()).toBe(digest);
  });

  it('migrates to the same schema as a new database', () => {
    expectSchemaOfNew(V7);
  });
});

describe('a device database of schema version 8 (each body stored as one whole Yjs state)', () => {
  const V8 = fixturePath('store-v8');
  const v8 = fixtureFacts<{
    digest: string;
    opCount: number;
    origin: string;
    conflicts: unknown[];
    plan: string;
    planVersions: number;
    planMiddle: { version: string; body: string };
    links: string;
    linkTargets: string[];
    trip: string;
    journal: string;
    bodies: Record<string, string>;
    bodyVersions: Record<string, string>;
  }>('store-v8');

  it('upgrades: every body, version, conflict, link and history as it was, and saves go on', () => {
    const path = join(t.dir, 'v8.db');
    copyFileSync(V8, path);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(8);
    const docs = raw.prepare('SELECT count(*) FROM body_docs').pluck().get() as number;
    raw.close();
    const s = openAt(path);
    expect(s.connection.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    // Each stored state is its document's one part.
    expect(s.connection.prepare('SELECT count(*), max(part) FROM body_parts').raw().get()).toEqual([
      docs,
      0,
    ]);
    expect(s.origin).toBe(v8.origin);
    expect(s.opCount()).toBe(v8.opCount);
    expect(s.digest()).toBe(v8.digest);
    expect(s.conflicts()).toEqual(v8.conflicts);
    for (const n of s.listNodes({ scope: 'all', limit: 1000 })) {
      expect(n.body, n.id).toBe(v8.bodies[n.id]);
      expect(n.body_version, n.id).toBe(v8.bodyVersions[n.id]);
      expect(s.crdtBody(n.id), n.id).toBe(v8.bodies[n.id]);
    }
    expect(s.wikiTargets(v8.links)).toEqual(v8.linkTargets);
    const history = new History(s, { ownDevice: 'this device' });
    expect(history.list(v8.plan, { limit: 1000 }).versions).toHaveLength(v8.planVersions);
    expect(history.at(v8.plan, v8.planMiddle.version).body).toBe(v8.planMiddle.body);

    // Saves after the upgrade append to the migrated state; a stale save still merges.
    const plan = s.getNode(v8.plan);
    const saved = s.updateNode(v8.plan, { body: `${plan.body}one more line\n` });
    s.updateNode(v8.plan, {
      body: `first line\n${plan.body}`,
      base_version: plan.body_version,
    });
    expect(s.getNode(v8.plan).body).toBe(`first line\n${saved.body}`);
    s.updateNode(v8.journal, { body: `${v8.bodies[v8.journal]}- lunch\n` });
    const digest = s.digest();
    expect(s.connection.prepare('SELECT count(*) FROM body_parts').pluck().get()).toBeGreaterThan(
      docs,
    );
    s.close();
    open.splice(open.indexOf(s), 1);
    const again = openAt(path);
    expect(again.digest()).toBe(digest);
    expect(again.getNode(v8.plan).body).toBe(`first line\n${saved.body}`);
    expect(again.crdtBody(v8.journal)).toBe(`${v8.bodies[v8.journal]}- lunch\n`);
    again.rebuild();
    expect(again.digest()).toBe(digest);
  });

  it('migrates to the same schema as a new database', () => {
    expectSchemaOfNew(V8);
  });
});

describe('a device database of schema version 9 (ops by target in an index of the op-log)', () => {
  const V9 = fixturePath('store-v9');
  const v9 = fixtureFacts<{
    digest: string;
    opCount: number;
    origin: string;
    conflicts: unknown[];
    plan: string;
    planVersions: number;
    planMiddle: { version: string; body: string };
    trip: string;
    journal: string;
    bodies: Record<string, string>;
  }>('store-v9');

  it('upgrades: every op found by its target, history as it was, and new ops indexed', () => {
    const path = join(t.dir, 'v9.db');
    copyFileSync(V9, path);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(9);
    const byTarget = raw
      .prepare('SELECT target, count(*) FROM oplog GROUP BY target ORDER BY target')
      .raw()
      .all();
    raw.close();
    const s = openAt(path);
    const db = s.connection;
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(
      db
        .prepare('SELECT target, count(*) FROM op_targets GROUP BY target ORDER BY target')
        .raw()
        .all(),
    ).toEqual(byTarget);
    expect(db.prepare("SELECT value FROM meta WHERE key = 'op_targets_seq'").pluck().get()).toBe(
      String(v9.opCount),
    );
    expect(s.opCount()).toBe(v9.opCount);
    expect(s.digest()).toBe(v9.digest);
    expect(s.conflicts()).toEqual(v9.conflicts);
    const history = new History(s, { ownDevice: 'this device' });
    expect(history.list(v9.plan, { limit: 1000 }).versions).toHaveLength(v9.planVersions);
    expect(history.at(v9.plan, v9.planMiddle.version).body).toBe(v9.planMiddle.body);
    // The body ops of a node in conflict, read by target (repair reads them so).
    expect(s.bodyOps(v9.trip).length).toBeGreaterThanOrEqual(2);

    // An edit after the upgrade is in the history at once.
    const plan = s.getNode(v9.plan);
    s.updateNode(v9.plan, { body: `${plan.body}one more line\n` });
    expect(history.list(v9.plan, { limit: 1000 }).versions).toHaveLength(v9.planVersions + 1);
    expect(db.prepare("SELECT value FROM meta WHERE key = 'op_targets_seq'").pluck().get()).toBe(
      String(v9.opCount + 1),
    );
    s.rebuild();
    expect(history.list(v9.plan, { limit: 1000 }).versions).toHaveLength(v9.planVersions + 1);
  });

  it('migrates to the same schema as a new database', () => {
    expectSchemaOfNew(V9);
  });
});

describe('a device database of schema version 10 (docs in the index by kind, an index of links by source)', () => {
  const V10 = fixturePath('store-v10');
  const v10 = fixtureFacts<{
    digest: string;
    opCount: number;
    tasks: string[];
    projects: { id: string; title: string }[];
    tags: { name: string; count: number }[];
    list: string[];
    next: string[];
    trash: string[];
    linksOf: Record<string, { dst: string; type: string }[]>;
    child: string;
    parent: string;
  }>('store-v10');

  it('upgrades: lists by kind and links by source read as they did, and new ones are found', () => {
    const path = join(t.dir, 'v10.db');
    copyFileSync(V10, path);
    const s = openAt(path);
    const db = s.connection;
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const indexes = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'links_%'")
      .pluck()
      .all();
    expect(indexes).toEqual(['links_dst']);
    expect(s.opCount()).toBe(v10.opCount);
    expect(s.digest()).toBe(v10.digest);
    const model = new Model(s, {
      clock: new ManualClock(Date.UTC(2026, 11, 5, 12)),
      timeZone: 'UTC',
    });
    const day = '2026-12-05';
    expect(model.listProjects().projects.map((p) => ({ id: p.id, title: p.title }))).toEqual(
      v10.projects,
    );
    expect(model.tagList().tags.map((x) => ({ name: x.name, count: x.count }))).toEqual(v10.tags);
    expect(model.list({ filter: {}, today: day }).tasks.map((x) => x.id)).toEqual(v10.list);
    expect(model.next({ today: day }).tasks.map((x) => x.id)).toEqual(v10.next);
    expect(model.trash().nodes.map((n) => n.id)).toEqual(v10.trash);
    for (const [id, links] of Object.entries(v10.linksOf)) {
      expect(s.links(id).map((l) => ({ dst: l.dst, type: l.type }))).toEqual(links);
    }
    // A task's tags (a range of link ids of one type), its context doc, a project's parent.
    const first = v10.tasks[0]!;
    expect(model.tagList(first).tags.map((x) => x.name)).toEqual(
      v10.linksOf[first]!.filter((l) => l.type === 'tagged').map((l) => l.dst.slice(4)),
    );
    expect(s.links(v10.child, 'parent').map((l) => l.dst)).toEqual([v10.parent]);
    expect(() => model.createProject({ title: 'Garden', parent: 'Home' })).toThrow(/Garden/);

    // Written after the upgrade: found by kind and by source at once.
    const r = model.createTask({ title: 'After the upgrade', project: 'Work', tags: ['call'] });
    expect(model.list({ filter: {}, today: day }).tasks.map((x) => x.id)).toContain(r.task.id);
    expect(model.getTask(r.task.id)).toMatchObject({ context: r.context, tags: ['call'] });
    expect(model.tagList().tags.find((x) => x.name === 'call')?.count).toBe(
      v10.tags.find((x) => x.name === 'call')!.count + 1,
    );
  });

  it('migrates to the same schema as a new database', () => {
    expectSchemaOfNew(V10);
  });
});

describe('a device database of schema version 11 (the next candidates’ index without titles)', () => {
  const V11 = fixturePath('store-v11');
  const v11 = fixtureFacts<{
    digest: string;
    opCount: number;
    tasks: string[];
    next: TaskListResult[];
  }>('store-v11');
  // The cases test/fixtures/make-v11-store.ts recorded, in its order.
  const cases = [
    { today: '2026-12-05' },
    { today: '2026-12-05', limit: 2 },
    { today: '2026-12-05', limit: 0 },
    { today: '2026-12-12', limit: 3 },
    { today: '2026-11-01' },
  ];

  it('upgrades: next answers as version 11 did, read from the index alone', () => {
    const path = join(t.dir, 'v11.db');
    copyFileSync(V11, path);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(11);
    raw.close();
    const s = openAt(path);
    const db = s.connection;
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.opCount()).toBe(v11.opCount);
    expect(s.digest()).toBe(v11.digest);
    const columns = db
      .prepare("SELECT name FROM pragma_index_info('nodes_next_candidates')")
      .pluck()
      .all();
    expect(columns).toEqual([
      'kind',
      'deleted',
      'state',
      'attention',
      'do_date',
      'late_on',
      'created_ms',
      'title',
      'recurrence',
    ]);
    const model = new Model(s, {
      clock: new ManualClock(Date.UTC(2026, 11, 5, 12)),
      timeZone: 'UTC',
    });
    expect(cases.map((c) => model.next(c))).toEqual(v11.next);
    expect(v11.next[0]!.tasks.length).toBeGreaterThan(8);
    // Every part of the query is a search of the covering index: no table row, no scan.
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${SELECT_SHOWABLE}`)
      .all({ today: '2026-12-05', top: 20 }) as { detail: string }[];
    const reads = plan.map((p) => p.detail).filter((d) => /^(SCAN|SEARCH) nodes/.test(d));
    expect(reads).toHaveLength(3);
    for (const d of reads) {
      expect(d).toMatch(/^SEARCH nodes USING COVERING INDEX nodes_next_candidates \(kind=\? AND/);
    }
    // A task written after the upgrade is in the index with its title.
    const r = model.createTask({ title: 'After the upgrade', attention: 'red' });
    expect(model.next({ today: '2026-12-05' }).tasks.map((x) => x.id)).toContain(r.task.id);
    model.updateTask(r.task.id, { title: 'Renamed' });
    expect(model.next({ today: '2026-12-05' }).tasks.find((x) => x.id === r.task.id)?.title).toBe(
      'Renamed',
    );
  });

  it('migrates to the same schema as a new database', () => {
    expectSchemaOfNew(V11);
  });
});
