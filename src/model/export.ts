// Export to a folder of markdown files: every live node as `<kind>/<file name of id>.md`, YAML
// front matter (id, kind, title, aliases, task fields, typed links, other fields) followed by
// the body exactly. Re-exporting is idempotent: a file whose content would not change is not
// touched, and the files of nodes no longer live are removed, but only files the previous
// export wrote and nobody changed since (a manifest, `.heph-export.json`, records each file's
// SHA-256). Files are replaced atomically (write to a temporary name, then rename).

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
import { isPlainObject, type Json } from '../core/json.js';
import type { NodeView } from '../ports/store.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { serializeFrontMatter, type FrontMatter } from './front-matter.js';

export const MANIFEST = '.heph-export.json';
const MAX_NAME = 200;

export interface ExportReport {
  written: number;
  unchanged: number;
  removed: number;
}

/**
 * A node id as a file name (without `.md`): every character other than ASCII letters, digits,
 * `.`, `_` and `-` becomes `%XX` per UTF-8 byte (`tag:work` → `tag%3Awork`), so decoding with
 * decodeURIComponent gives the id back. Names that would pass 200 characters are cut and end in
 * `~` and a hash of the id; the id is always in the file's front matter too.
 */
export function idToFileName(id: string): string {
  const enc = encodeURIComponent(id).replace(
    /[!'()*~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  if (enc.length <= MAX_NAME) return enc;
  const cut = enc.slice(0, 180).replace(/%[0-9A-F]?$/, '');
  return `${cut}~${sha256(id).slice(0, 16)}`;
}

/** The id a file name stands for, or undefined for a shortened (hashed) name. */
export function fileNameToId(name: string): string | undefined {
  if (name.includes('~')) return undefined;
  try {
    return decodeURIComponent(name);
  } catch {
    return undefined;
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The exported text of one node. */
export function nodeFile(node: NodeView, links: { type: string; dst: string }[]): string {
  const fm: FrontMatter = { id: node.id, kind: node.kind, title: node.title };
  if (node.aliases.length > 0) fm.aliases = node.aliases;
  if (node.kind === 'task') for (const f of TASK_FIELDS) fm[f] = node[f] ?? null;
  const linkLines = links.map((l) => `${l.type} ${l.dst}`).sort();
  if (linkLines.length > 0) fm.links = linkLines;
  if (Object.keys(node.extra).length > 0) fm.extra = sortKeys(node.extra);
  return serializeFrontMatter(fm) + node.body;
}

function sortKeys(o: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k] ?? null;
  return out;
}

function readManifest(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new HephError(
      'invalid_params',
      `${path} is not a heph export manifest (${(e as Error).message}); remove it to export afresh`,
      { path },
    );
  }
  const files = isPlainObject(parsed) ? parsed.files : undefined;
  if (!isPlainObject(files)) {
    throw new HephError('invalid_params', `${path} is not a heph export manifest`, { path });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(files)) if (typeof v === 'string') out[k] = v;
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

/** One live node as an export needs it: its fields and its typed links to live nodes. */
export interface ExportEntry {
  node: NodeView;
  links: { type: string; dst: string }[];
}

/** A page of live nodes in id order, for an export made elsewhere (client mode). */
export interface ExportPage {
  entries: ExportEntry[];
  /** The id to continue after, or null at the end. */
  next: string | null;
}

/** Bodies per export page, in characters: a page stays well under a request's size limit. */
const PAGE_BODY_CHARS = 4 * 1024 * 1024;

/**
 * Up to `limit` live nodes with ids after `after`, fewer when their bodies pass 4 Mi characters
 * (at least one node per page).
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
  for (const id of ids.slice(0, limit)) {
    if (entries.length > 0 && chars >= PAGE_BODY_CHARS) break;
    const node = store.getNode(id);
    chars += node.body.length;
    const links = store
      .links(id)
      .filter((l) => store.findNode(l.dst)?.deleted === false)
      .map((l) => ({ type: l.type, dst: l.dst }));
    entries.push({ node, links });
  }
  const more = entries.length < ids.length;
  return { entries, next: more ? (entries.at(-1)?.node.id ?? null) : null };
}

/**
 * Writes an export into a folder, node by node (see the file comment): `add` each live node in
 * any order, then `finish` removes the files of nodes no longer live and writes the manifest.
 * Every file error is a HephError naming the file.
 */
export class ExportWriter {
  readonly report: ExportReport = { written: 0, unchanged: 0, removed: 0 };
  private readonly manifestPath: string;
  private readonly previous: Record<string, string>;
  private readonly next: Record<string, string> = {};

  constructor(private readonly dir: string) {
    if (existsSync(dir) && !statSync(dir).isDirectory()) {
      throw new HephError('invalid_params', `${dir} is a file, not a folder`, { path: dir });
    }
    this.manifestPath = join(dir, MANIFEST);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw ioError(e, dir, 'write');
    }
    this.previous = readManifest(this.manifestPath);
  }

  add({ node, links }: ExportEntry): void {
    const text = nodeFile(node, links);
    const rel = `${node.kind}/${idToFileName(node.id)}.md`;
    const path = join(this.dir, rel);
    this.next[rel] = sha256(text);
    try {
      if (existsSync(path) && readFileSync(path, 'utf8') === text) {
        this.report.unchanged++;
      } else {
        writeAtomically(path, text);
        this.report.written++;
      }
    } catch (e) {
      throw ioError(e, path, 'write');
    }
  }

  finish(): ExportReport {
    for (const [rel, hash] of Object.entries(this.previous)) {
      if (Object.hasOwn(this.next, rel)) continue;
      const path = join(this.dir, rel);
      try {
        // Only a file this export wrote and nobody has changed since.
        if (existsSync(path) && sha256(readFileSync(path, 'utf8')) === hash) {
          unlinkSync(path);
          this.report.removed++;
          try {
            rmdirSync(dirname(path));
          } catch {
            // The kind folder still holds files.
          }
        }
      } catch (e) {
        throw ioError(e, path, 'remove');
      }
    }
    try {
      writeAtomically(
        this.manifestPath,
        JSON.stringify({ format: 'heph-export', version: 1, files: this.next }, null, 1) + '\n',
      );
    } catch (e) {
      throw ioError(e, this.manifestPath, 'write');
    }
    return this.report;
  }
}

/** Writes every live node into `dir` (created if missing). */
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
