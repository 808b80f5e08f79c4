// Export to a folder a markdown editor opens as a vault. Guarantees:
// - an imported note goes back to its vault path (renamed in heph: its new title as the file
//   name, in the same folder) with its body byte for byte, nothing added;
// - a note made in heph goes to a file named from its title (characters a file name or a link
//   cannot hold become `-`), tasks under `Tasks/`, journals as `Journal/YYYY-MM-DD.md`, projects
//   under `Projects/`, with their fields (task fields, aliases) as front matter above the body;
//   a task's file holds its note (its context doc's text). Names that collide (ignoring case)
//   get a visible ` (2)`, ` (3)` … suffix, and are reported;
// - heph's own data (ids, kinds, titles, fields, typed links, a task's note id, tags) goes to
//   the sidecar `.heph/index.json`, never into a note; import reads it, so ids, renames and
//   links survive export → import → export, which is a fixed point (byte-identical folders);
// - re-exporting is idempotent: an unchanged file is not touched; the files of nodes no longer
//   exported are removed, but only files an earlier export wrote and nobody changed since (the
//   sidecar, or an older export's `.heph-export.json`, records each file's SHA-256). Files are
//   replaced atomically (written to a temporary name, then renamed).

import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { HephError } from '../core/errors.js';
import { TASK_FIELDS } from '../core/fields.js';
import type { NodeKind } from '../core/ids.js';
import { isPlainObject, type Json } from '../core/json.js';
import type { NodeView } from '../ports/store.js';
import { stripMd } from '../store/search.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { parseFrontMatter, serializeFrontMatter, splitFrontMatter } from './front-matter.js';
import { contextDocIds, noteOf } from './items.js';

/** The manifest an export made before vault exports wrote (still read, then replaced). */
export const OLD_MANIFEST = '.heph-export.json';
/** heph's data in an export, beside the notes. */
export const SIDECAR_DIR = '.heph';
export const SIDECAR = `${SIDECAR_DIR}/index.json`;
export const SIDECAR_FORMAT = 'heph-vault';

export interface ExportReport {
  written: number;
  unchanged: number;
  removed: number;
  /** Notes whose file name took a suffix because another note's name was the same. */
  collisions: { id: string; title: string; path: string }[];
}

/** What the sidecar records of a node with a file. */
export interface SidecarFile {
  id: string;
  kind: NodeKind;
  title: string;
  aliases?: string[];
  task?: Record<string, Json>;
  extra?: Record<string, Json>;
  /** Typed links, `<type> <id>`. */
  links?: string[];
  /** A task's note: its context doc, with its own aliases and typed links. */
  note?: { id: string; aliases?: string[]; links?: string[] };
  /** Text an earlier version kept in the task itself, beside its note. */
  own_body?: string;
  /** heph wrote front matter above the body (import takes it off again). */
  front_matter?: true;
  /** SHA-256 of the file as written. */
  sha256: string;
}

/** What the sidecar records of a node without a file (tags). */
export interface SidecarNode {
  kind: NodeKind;
  title: string;
  aliases?: string[];
  body?: string;
  extra?: Record<string, Json>;
  links?: string[];
}

export interface Sidecar {
  format: typeof SIDECAR_FORMAT;
  version: 1;
  files: Record<string, SidecarFile>;
  nodes: Record<string, SidecarNode>;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

const UNSAFE = /[\\/:*?"<>|#^[\]\u0000-\u001f\u007f]/g;

/** A title as a file name without `.md`: characters no file or link may hold become `-`. */
export function fileNameOf(title: string): string {
  let s = title.normalize('NFC').replace(UNSAFE, '-').trim();
  s = s.replace(/^\.+/, '').replace(/[. ]+$/, '');
  const chars = [...s];
  if (chars.length > 120) s = chars.slice(0, 120).join('').trim();
  return s === '' ? 'Untitled' : s;
}

/** The title a plain vault import gives a file: its front matter's `title`, else its name. */
function importedTitle(path: string, body: string): string {
  const split = splitFrontMatter(body);
  if (split) {
    try {
      const given = parseFrontMatter(split.yaml).title;
      if ((typeof given === 'string' || typeof given === 'number') && String(given).trim()) {
        return String(given).trim();
      }
    } catch {
      // Front matter import could not read either: the file name named the note.
    }
  }
  return stripMd(path.slice(path.lastIndexOf('/') + 1)).normalize('NFC');
}

const FOLDERS: Partial<Record<NodeKind, string>> = {
  task: 'Tasks',
  project: 'Projects',
  journal: 'Journal',
};

/** Where a node's file goes before collisions: its folder and name (without `.md`). */
function placeOf(node: NodeView): { path: string; imported: boolean } {
  const vp = node.extra.vault_path;
  if (typeof vp === 'string' && vp !== '' && /\.md$/i.test(vp)) {
    if (importedTitle(vp, node.body) === node.title) return { path: vp, imported: true };
    const folder = vp.slice(0, vp.lastIndexOf('/') + 1);
    return { path: `${folder}${fileNameOf(node.title)}.md`, imported: false };
  }
  const folder = node.id.startsWith('log:') ? 'Tasks' : FOLDERS[node.kind];
  const name =
    node.kind === 'journal' && node.id.startsWith('journal:')
      ? fileNameOf(node.id.slice('journal:'.length))
      : fileNameOf(node.title);
  return { path: folder === undefined ? `${name}.md` : `${folder}/${name}.md`, imported: false };
}

/** One live item as an export needs it: its fields, typed links and (a task) its note. */
export interface ExportEntry {
  node: NodeView;
  links: { type: string; dst: string }[];
  /** A task's note (context doc): its id, aliases and typed links; `node.body` is its text. */
  note?:
    | { id: string; aliases: string[]; links?: { type: string; dst: string }[] | undefined }
    | undefined;
  /** Text an earlier version kept in the task itself, beside a note that has its own. */
  own_body?: string | undefined;
}

/** A page of live items in id order, for an export made elsewhere (client mode). */
export interface ExportPage {
  entries: ExportEntry[];
  /** The id to continue after, or null at the end. */
  next: string | null;
}

/** Bodies per export page, in characters: a page stays well under a request's size limit. */
const PAGE_BODY_CHARS = 4 * 1024 * 1024;

/** A node's typed links to live nodes. */
function liveLinks(store: SqliteStore, id: string): { type: string; dst: string }[] {
  return store
    .links(id)
    .filter((l) => store.findNode(l.dst)?.deleted === false)
    .map((l) => ({ type: l.type, dst: l.dst }));
}

function entryOf(store: SqliteStore, node: NodeView): ExportEntry {
  const links = liveLinks(store, node.id);
  if (node.kind !== 'task') return { node, links };
  const docId = contextDocIds(store, node.id)[0];
  const doc = docId === undefined ? undefined : store.findNode(docId);
  if (!doc || doc.deleted) return { node, links };
  const note = noteOf(store, node);
  const own = note === node ? '' : node.body;
  return {
    node: { ...node, body: note.body },
    links,
    note: { id: doc.id, aliases: doc.aliases, links: liveLinks(store, doc.id) },
    ...(own !== '' && { own_body: own }),
  };
}

/**
 * Up to `limit` live items with ids after `after` (a task's context doc is part of its task),
 * fewer when their bodies pass 4 Mi characters (at least one per page).
 */
export function exportPage(
  store: SqliteStore,
  after: string | undefined,
  limit: number,
): ExportPage {
  const ids = store.connection
    .prepare(
      'SELECT id FROM nodes WHERE kind IS NOT NULL AND deleted = 0 AND id > ? ORDER BY id LIMIT ?',
    )
    .pluck()
    .all(after ?? '', limit + 1) as string[];
  const entries: ExportEntry[] = [];
  let chars = 0;
  let last: string | undefined;
  for (const id of ids.slice(0, limit)) {
    if (last !== undefined && chars >= PAGE_BODY_CHARS) break;
    last = id;
    if (store.isContextDoc(id)) continue;
    const entry = entryOf(store, store.getNode(id));
    chars += entry.node.body.length;
    entries.push(entry);
  }
  const more = last !== undefined && ids.indexOf(last) < ids.length - 1;
  return { entries, next: more ? (last ?? null) : null };
}

/** The front matter heph writes above a file's body, or undefined for none. */
function frontMatterOf(e: ExportEntry): string | undefined {
  const { node } = e;
  const fm: Record<string, Json> = {};
  if (node.aliases.length > 0) fm.aliases = node.aliases;
  if (node.kind === 'task') for (const f of TASK_FIELDS) fm[f] = node[f] ?? null;
  return Object.keys(fm).length === 0 ? undefined : serializeFrontMatter(fm);
}

function linkLines(links: { type: string; dst: string }[]): string[] {
  return links.map((l) => `${l.type} ${l.dst}`).sort();
}

function record(e: ExportEntry): Omit<SidecarFile, 'sha256'> {
  const { node } = e;
  const r: Omit<SidecarFile, 'sha256'> = { id: node.id, kind: node.kind, title: node.title };
  if (node.aliases.length > 0) r.aliases = node.aliases;
  if (node.kind === 'task') {
    const task: Record<string, Json> = {};
    for (const f of TASK_FIELDS) task[f] = node[f] ?? null;
    r.task = task;
  }
  if (Object.keys(node.extra).length > 0) r.extra = sortKeys(node.extra);
  const links = linkLines(e.links);
  if (links.length > 0) r.links = links;
  if (e.note) {
    const noteLinks = linkLines(e.note.links ?? []);
    r.note = {
      id: e.note.id,
      ...(e.note.aliases.length > 0 && { aliases: e.note.aliases }),
      ...(noteLinks.length > 0 && { links: noteLinks }),
    };
  }
  if (e.own_body !== undefined && e.own_body !== '') r.own_body = e.own_body;
  return r;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new HephError(
      'invalid_params',
      `${path} is not heph's export data (${(e as Error).message}); remove it to export afresh`,
      { path },
    );
  }
}

/** The files an earlier export wrote here, with the SHA-256 each had. */
function previousFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const old = join(dir, OLD_MANIFEST);
  if (existsSync(old)) {
    const files = (readJson(old) as { files?: unknown } | null)?.files;
    if (!isPlainObject(files)) {
      throw new HephError('invalid_params', `${old} is not a heph export manifest`, { path: old });
    }
    for (const [k, v] of Object.entries(files)) if (typeof v === 'string') out[k] = v;
  }
  const side = join(dir, SIDECAR);
  if (existsSync(side)) {
    const files = (readJson(side) as { files?: unknown } | null)?.files;
    if (!isPlainObject(files)) {
      throw new HephError('invalid_params', `${side} is not heph's export data`, { path: side });
    }
    for (const [k, v] of Object.entries(files)) {
      if (isPlainObject(v) && typeof v.sha256 === 'string') out[k] = v.sha256;
    }
  }
  return out;
}

function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${process.pid}.heph-tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function ioError(e: unknown, path: string, doing: string): HephError {
  if (e instanceof HephError) return e;
  return new HephError('io', `cannot ${doing} ${path}: ${(e as Error).message}`, { path });
}

/** `name (2).md` for the second note that wants `name.md`. */
function suffixed(path: string, n: number): string {
  return `${path.slice(0, -3)} (${n}).md`;
}

/**
 * Writes an export into a folder (see the file comment): `add` every live item in any order,
 * then `finish` places and writes them, removes what an earlier export wrote for items gone,
 * and writes the sidecar. Every file error is a HephError naming the file.
 */
export class ExportWriter {
  private readonly entries: ExportEntry[] = [];
  private readonly previous: Record<string, string>;

  constructor(private readonly dir: string) {
    if (existsSync(dir) && !statSync(dir).isDirectory()) {
      throw new HephError('invalid_params', `${dir} is a file, not a folder`, { path: dir });
    }
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw ioError(e, dir, 'write');
    }
    this.previous = previousFiles(dir);
  }

  add(entry: ExportEntry): void {
    this.entries.push(entry);
  }

  finish(): ExportReport {
    const report: ExportReport = { written: 0, unchanged: 0, removed: 0, collisions: [] };
    const sidecar: Sidecar = { format: SIDECAR_FORMAT, version: 1, files: {}, nodes: {} };
    const files: { rel: string; e: ExportEntry }[] = [];
    const taken = new Set<string>();
    const key = (p: string) => p.normalize('NFC').toLowerCase();
    // Imported notes keep their paths first; then the others by id, each taking a free name.
    const placed = this.entries
      .filter((e) => e.node.kind !== 'tag')
      .map((e) => ({ e, ...placeOf(e.node) }))
      .sort(
        (a, b) =>
          Number(b.imported) - Number(a.imported) ||
          (a.e.node.id < b.e.node.id ? -1 : a.e.node.id > b.e.node.id ? 1 : 0),
      );
    for (const p of placed) {
      let rel = p.path;
      for (let n = 2; !p.imported && taken.has(key(rel)); n++) rel = suffixed(p.path, n);
      taken.add(key(rel));
      if (rel !== p.path)
        report.collisions.push({ id: p.e.node.id, title: p.e.node.title, path: rel });
      files.push({ rel, e: p.e });
    }
    for (const e of this.entries) {
      if (e.node.kind !== 'tag') continue;
      const r = record(e);
      sidecar.nodes[e.node.id] = {
        kind: r.kind,
        title: r.title,
        ...(r.aliases && { aliases: r.aliases }),
        ...(e.node.body !== '' && { body: e.node.body }),
        ...(r.extra && { extra: r.extra }),
        ...(r.links && { links: r.links }),
      };
    }
    const texts = files.map(({ rel, e }) => {
      const imported = typeof e.node.extra.vault_path === 'string';
      const fm = imported ? undefined : frontMatterOf(e);
      const text = (fm ?? '') + e.node.body;
      sidecar.files[rel] = {
        ...record(e),
        ...(fm !== undefined && { front_matter: true }),
        sha256: sha256(text),
      };
      return { rel, text, path: join(this.dir, rel) };
    });
    // A file in the way that no export wrote (or that was changed since) is never overwritten.
    const writes = texts.filter(({ rel, text, path }) => {
      let now: string;
      try {
        if (!existsSync(path)) return true;
        now = readFileSync(path, 'utf8');
      } catch (e) {
        throw ioError(e, path, 'read');
      }
      if (now === text) return false;
      if (this.previous[rel] !== sha256(now)) {
        throw new HephError(
          'conflict',
          `${path} is in the way: an export did not write it, or it was changed since; ` +
            'import the folder first to keep its changes, or move the file away (nothing was written)',
          { path },
        );
      }
      return true;
    });
    report.unchanged = texts.length - writes.length;
    for (const { text, path } of writes) {
      try {
        writeAtomically(path, text);
        report.written++;
      } catch (e) {
        throw ioError(e, path, 'write');
      }
    }
    for (const [rel, hash] of Object.entries(this.previous)) {
      if (Object.hasOwn(sidecar.files, rel)) continue;
      const path = join(this.dir, rel);
      try {
        // Only a file an export wrote and nobody has changed since.
        if (existsSync(path) && sha256(readFileSync(path, 'utf8')) === hash) {
          unlinkSync(path);
          report.removed++;
          try {
            rmdirSync(dirname(path));
          } catch {
            // The folder still holds files.
          }
        }
      } catch (e) {
        throw ioError(e, path, 'remove');
      }
    }
    const side = join(this.dir, SIDECAR);
    try {
      const sorted = { ...sidecar, files: sortKeys(sidecar.files), nodes: sortKeys(sidecar.nodes) };
      writeAtomically(side, JSON.stringify(sorted, null, 1) + '\n');
      if (existsSync(join(this.dir, OLD_MANIFEST))) unlinkSync(join(this.dir, OLD_MANIFEST));
    } catch (e) {
      throw ioError(e, side, 'write');
    }
    return report;
  }
}

/** Writes every live item into `dir` (created if missing). */
export function exportVault(store: SqliteStore, dir: string): ExportReport {
  const writer = new ExportWriter(dir);
  let after: string | undefined;
  for (;;) {
    const page = exportPage(store, after, 500);
    for (const e of page.entries) writer.add(e);
    if (page.next === null) return writer.finish();
    after = page.next;
  }
}
