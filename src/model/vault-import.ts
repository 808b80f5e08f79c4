// Import from a folder of markdown files: heph's own export format, or a plain vault (Obsidian
// and the like). Guarantees:
// - all files are read and checked before anything is written, and all writes happen in one
//   transaction: a bad file (unreadable, not UTF-8, invalid front matter or field) stops the
//   import with an error naming it and nothing is stored (unless `skipInvalid`, which reports
//   bad files in `errors` and imports the rest);
// - ids are deterministic (an export's ids, or `vault:<path>` for vault notes), so importing
//   again updates nodes in place instead of duplicating them, and importing unchanged files
//   writes no op at all;
// - bodies are stored byte-exactly. A file in heph's format loses its own front matter (heph
//   wrote it from the node's fields); a plain vault note keeps its front matter in the body;
// - importing a file again applies what changed in the file since the note's previous import
//   as an edit (three-way, from the text that import wrote), so edits made in heph meanwhile
//   stay; devices importing the same file before they first sync hold one copy of its text, and
//   different versions of it become a body conflict, never one text after the other.
// Import never deletes: a note removed from the folder stays in heph.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { HephError, type ErrorCode } from '../core/errors.js';
import { isKnownField, TASK_FIELDS, validateFieldValue } from '../core/fields.js';
import { isLinkType, isNodeId, isNodeKind, type LinkType, type NodeKind } from '../core/ids.js';
import { canonicalJson, isPlainObject, type Json } from '../core/json.js';
import { MAX_BODY_CHANGE_BYTES } from '../core/op.js';
import type { NodePatch, NodeView, TaskFields } from '../ports/store.js';
import { stripMd } from '../store/search.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { SIDECAR, SIDECAR_FORMAT } from './export.js';
import { parseFrontMatter, splitFrontMatter, type FrontMatter } from './front-matter.js';

export interface ImportError {
  path: string;
  message: string;
}

export interface ImportReport {
  created: number;
  updated: number;
  unchanged: number;
  /** Files that are not markdown notes (attachments), and symbolic links: heph does not keep them. */
  skipped: number;
  errors: ImportError[];
}

export interface ImportOptions {
  /** Import the good files and report bad ones in `errors`, instead of importing nothing. */
  skipInvalid?: boolean;
}

const MAX_NOTE_MIB = (MAX_BODY_CHANGE_BYTES / 1024 / 1024).toFixed(1);
const MAX_ID_TEXT = 200;

/** One note read from a folder, ready to store: what `import.notes` takes. */
export interface ImportNote {
  /** Where it was read from (for messages only). */
  path: string;
  id: string;
  kind: NodeKind;
  title: string;
  aliases: string[];
  body: string;
  task: Partial<TaskFields>;
  extra: Record<string, Json>;
  links: { type: LinkType; dst: string }[];
  /**
   * The body_version the text was made from. Without it an import that changes the body is
   * merged from the text the note's previous import wrote, so edits made in heph meanwhile stay.
   */
  base_version?: string | undefined;
}

/** What reading a folder found: its notes, the files that are not notes, and bad files. */
export interface VaultRead {
  notes: ImportNote[];
  skipped: number;
  problems: Problem[];
}

type Problem = ImportError & { code: ErrorCode };
type Plan = ImportNote;

class FileError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The id of a vault note: `vault:` and its path without `.md` (NFC, `/` separators), with a
 * space written `+` and whitespace, `%`, `+`, `|`, `#`, `[`, `]`, `^`, `` ` `` and `~`
 * percent-encoded. Paths that would pass 200 characters are cut and end in `~` and a hash.
 */
export function vaultNoteId(relPath: string): string {
  const p = stripMd(relPath.normalize('NFC'));
  const enc = p.replace(/[\s%+|#[\]^`~]/gu, (c) =>
    c === ' '
      ? '+'
      : [...Buffer.from(c, 'utf8')]
          .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
          .join(''),
  );
  if (enc.length <= MAX_ID_TEXT) return `vault:${enc}`;
  const cut = enc.slice(0, 183).replace(/%[0-9A-F]?$/, '');
  return `vault:${cut}~${createHash('sha256').update(p).digest('hex').slice(0, 16)}`;
}

function checkField(field: string, value: unknown): void {
  const msg = validateFieldValue(field, value);
  if (msg) throw new FileError('invalid_params', msg);
}

function asAliases(v: Json | undefined): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const a of list) {
    if (a === null) continue;
    if (typeof a === 'object') throw new FileError('invalid_params', 'aliases must be names');
    const s = String(a).trim();
    if (s !== '' && !out.includes(s)) out.push(s);
  }
  checkField('aliases', out);
  return out;
}

/** Typed links written `<type> <id>`. */
function parseLinks(raw: unknown): Plan['links'] {
  const links: { type: string; dst: string }[] = [];
  const list = raw ?? [];
  if (!Array.isArray(list)) throw new FileError('invalid_params', 'links must be a list');
  for (const l of list) {
    const m = typeof l === 'string' ? /^(\S+) (\S+)$/.exec(l.trim()) : null;
    if (!m)
      throw new FileError('invalid_params', `links: ${JSON.stringify(l)} is not "<type> <id>"`);
    links.push({ type: m[1] as string, dst: m[2] as string });
  }
  return links as Plan['links'];
}

function planHeph(path: string, fm: FrontMatter, body: string): Plan {
  const task: Record<string, Json> = {};
  for (const f of TASK_FIELDS) if (fm[f] !== undefined) task[f] = fm[f];
  if (fm.extra !== undefined && fm.extra !== null && !isPlainObject(fm.extra)) {
    throw new FileError('invalid_params', 'extra must be a mapping');
  }
  const links = parseLinks(fm.links);
  const note = {
    path,
    id: fm.id as string,
    kind: fm.kind as NodeKind,
    title: (fm.title ?? '') as string,
    aliases: (fm.aliases ?? []) as string[],
    body,
    task: task as Partial<TaskFields>,
    extra: (fm.extra ?? {}) as Record<string, Json>,
    links,
  };
  const msg = checkImportNote(note);
  if (msg !== undefined) throw new FileError('invalid_params', msg);
  return note;
}

/**
 * What is wrong with a note to import, or undefined: the same checks whether it was read here
 * or arrives in `import.notes` from another process.
 */
export function checkImportNote(note: ImportNote): string | undefined {
  if (!isNodeId(note.id)) return 'id is not a node id';
  if (!isNodeKind(note.kind)) return 'kind is not a node kind';
  if (
    note.body.length > MAX_BODY_CHANGE_BYTES ||
    Buffer.byteLength(note.body) > MAX_BODY_CHANGE_BYTES
  ) {
    return `body is larger than ${MAX_NOTE_MIB} MiB, the most one change may add`;
  }
  const fieldMsg = (f: string, v: unknown): string | undefined => validateFieldValue(f, v);
  const title = fieldMsg('title', note.title) ?? fieldMsg('aliases', note.aliases);
  if (title !== undefined) return title;
  for (const [f, v] of Object.entries(note.task)) {
    if (!(TASK_FIELDS as readonly string[]).includes(f)) return `task.${f} is not a task field`;
    if (note.kind !== 'task') return `${f} is a task field`;
    const m = fieldMsg(f, v);
    if (m !== undefined) return m;
  }
  for (const [f, v] of Object.entries(note.extra)) {
    if (isKnownField(f)) return `extra.${f} is a known field`;
    const m = fieldMsg(f, v);
    if (m !== undefined) return m;
  }
  for (const l of note.links) {
    if (!isLinkType(l.type) || l.type === 'wiki' || !isNodeId(l.dst)) {
      return `links: ${JSON.stringify(`${l.type} ${l.dst}`)} is not "<type> <id>"`;
    }
  }
  return undefined;
}

function planVault(path: string, rel: string, fm: FrontMatter | undefined, text: string): Plan {
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  let title = stripMd(name).normalize('NFC');
  const given = fm?.title;
  if (typeof given === 'string' || typeof given === 'number') {
    if (String(given).trim() !== '') title = String(given).trim();
  }
  checkField('title', title);
  return {
    path,
    id: vaultNoteId(rel),
    kind: 'doc',
    title,
    aliases: asAliases(fm?.aliases ?? fm?.alias),
    body: text,
    task: {},
    extra: { vault_path: rel.normalize('NFC') },
    links: [],
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readText(path: string): string {
  let text: string;
  try {
    text = utf8.decode(readFileSync(path));
  } catch (e) {
    if (e instanceof TypeError) throw new FileError('invalid_params', 'is not UTF-8 text');
    throw new FileError('io', `cannot read it: ${(e as Error).message}`);
  }
  if (Buffer.byteLength(text) > MAX_BODY_CHANGE_BYTES) {
    throw new FileError(
      'too_large',
      `is larger than ${MAX_NOTE_MIB} MiB, the most one change may add`,
    );
  }
  return text;
}

function planFile(path: string, rel: string): Plan {
  const text = readText(path);
  const split = splitFrontMatter(text);
  let fm: FrontMatter | undefined;
  if (split) {
    try {
      fm = parseFrontMatter(split.yaml);
    } catch (e) {
      throw new FileError('invalid_params', (e as Error).message);
    }
  }
  if (split && fm && isNodeId(fm.id) && isNodeKind(fm.kind)) {
    return planHeph(path, fm, split.body);
  }
  return planVault(path, rel, fm, text);
}

/** The sidecar of a vault heph exported, or undefined when the folder has none. */
function readSidecar(
  dir: string,
): { files: Record<string, unknown>; nodes: Record<string, unknown> } | undefined {
  const path = join(dir, SIDECAR);
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HephError('io', `cannot read ${path}: ${(e as Error).message}`, { path });
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (e) {
    throw new HephError('invalid_params', `${path} is not JSON (${(e as Error).message})`, {
      path,
    });
  }
  if (
    !isPlainObject(data) ||
    data.format !== SIDECAR_FORMAT ||
    !isPlainObject(data.files) ||
    !isPlainObject(data.nodes)
  ) {
    throw new HephError(
      'invalid_params',
      `${path} is not heph's export data (format ${SIDECAR_FORMAT})`,
      {
        path,
      },
    );
  }
  if (data.version !== 1) {
    throw new HephError(
      'invalid_params',
      `${path} is version ${JSON.stringify(data.version)} of heph's export data; this heph reads version 1 (upgrade heph)`,
      { path },
    );
  }
  return { files: data.files, nodes: data.nodes };
}

function need<T>(ok: boolean, v: unknown, what: string): T {
  if (!ok) throw new FileError('invalid_params', `${SIDECAR}: ${what}`);
  return v as T;
}

const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The common fields of a sidecar record. */
function sidecarFields(r: Record<string, unknown>, at: string) {
  const aliases = r.aliases ?? [];
  const extra = r.extra ?? {};
  return {
    kind: need<NodeKind>(isNodeKind(r.kind), r.kind, `${at}: kind is not a node kind`),
    title: need<string>(typeof r.title === 'string', r.title, `${at}: title must be text`),
    aliases: need<string[]>(isStrings(aliases), aliases, `${at}: aliases must be names`),
    extra: need<Record<string, Json>>(
      isPlainObject(extra),
      extra,
      `${at}: extra must be a mapping`,
    ),
    links: parseLinks(r.links),
  };
}

function checked(plan: Plan): Plan {
  const msg = checkImportNote(plan);
  if (msg !== undefined) throw new FileError('invalid_params', msg);
  return plan;
}

/**
 * A file heph exported, read with what the sidecar says of it: the id, kind, title and links
 * from the sidecar; aliases and task fields from the front matter heph wrote (which the user may
 * have edited), taken off the body again; a task's text goes to its note.
 */
function planSidecarFile(path: string, raw: unknown, text: string): Plan[] {
  const r = need<Record<string, unknown>>(
    isPlainObject(raw),
    raw,
    `the entry of ${path} is not a mapping`,
  );
  const at = `the entry of ${path}`;
  const id = need<string>(isNodeId(r.id), r.id, `${at}: id is not a node id`);
  const f = sidecarFields(r, at);
  let body = text;
  let fm: FrontMatter = {};
  if (r.front_matter === true) {
    const split = splitFrontMatter(text);
    if (split) {
      try {
        fm = parseFrontMatter(split.yaml);
      } catch (e) {
        throw new FileError('invalid_params', (e as Error).message);
      }
      body = split.body;
    }
  } else if (typeof f.extra.vault_path === 'string' && r.sha256 !== sha256(text)) {
    // An imported note edited since the export: its own front matter says its aliases.
    const split = splitFrontMatter(text);
    if (split) {
      try {
        fm = { aliases: parseFrontMatter(split.yaml).aliases ?? [] };
      } catch {
        // Front matter the note's own import would not read either: the sidecar's aliases stay.
      }
    }
  }
  const aliases = fm.aliases !== undefined ? asAliases(fm.aliases) : f.aliases;
  const task: Record<string, Json> = {};
  if (f.kind === 'task') {
    const given = r.task ?? {};
    const t = need<Record<string, Json>>(
      isPlainObject(given),
      given,
      `${at}: task must be a mapping`,
    );
    for (const k of TASK_FIELDS) {
      const v = fm[k] !== undefined ? fm[k] : t[k];
      if (v !== undefined) task[k] = v;
    }
  }
  const note = r.note;
  if (f.kind !== 'task' || note === undefined) {
    return [checked({ path, id, ...f, aliases, body, task: task })];
  }
  const n = need<Record<string, unknown>>(
    isPlainObject(note),
    note,
    `${at}: note must be a mapping`,
  );
  const noteAliases = n.aliases ?? [];
  const own = r.own_body ?? '';
  return [
    checked({
      path,
      id,
      ...f,
      aliases,
      body: need<string>(typeof own === 'string', own, `${at}: own_body must be text`),
      task: task,
    }),
    checked({
      path,
      id: need<string>(isNodeId(n.id), n.id, `${at}: note.id is not a node id`),
      kind: 'doc',
      title: f.title,
      aliases: need<string[]>(
        isStrings(noteAliases),
        noteAliases,
        `${at}: note.aliases must be names`,
      ),
      body,
      task: {},
      extra: {},
      links: parseLinks(n.links),
    }),
  ];
}

/** A node the sidecar holds whole (a tag): it has no file. */
function planSidecarNode(path: string, id: string, raw: unknown): Plan {
  const at = `node ${id}`;
  const r = need<Record<string, unknown>>(isPlainObject(raw), raw, `${at} is not a mapping`);
  need(isNodeId(id), id, `${at}: not a node id`);
  const body = r.body ?? '';
  return checked({
    path,
    id,
    ...sidecarFields(r, at),
    body: need<string>(typeof body === 'string', body, `${at}: body must be text`),
    task: {},
  });
}

interface Walk {
  notes: { path: string; rel: string }[];
  skipped: number;
}

function walk(dir: string, rel: string, out: Walk, errors: (ImportError & { code: ErrorCode })[]) {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    errors.push({ path: dir, message: `cannot read folder: ${(e as Error).message}`, code: 'io' });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue; // .obsidian, .trash, .git, the export manifest
    const path = join(dir, e.name);
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) walk(path, r, out, errors);
    else if (e.isFile() && /\.md$/i.test(e.name)) out.notes.push({ path, rel: r });
    else out.skipped++;
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

function patchFor(node: NodeView, plan: Plan): NodePatch {
  const patch: NodePatch = {};
  if (node.title !== plan.title) patch.title = plan.title;
  if (!sameJson(node.aliases, plan.aliases)) patch.aliases = plan.aliases;
  if (node.body !== plan.body) patch.body = plan.body;
  for (const f of TASK_FIELDS) {
    const v = plan.task[f];
    if (v !== undefined && !sameJson(node[f], v)) (patch as Record<string, Json>)[f] = v;
  }
  const extra: Record<string, Json> = {};
  for (const [f, v] of Object.entries(plan.extra)) if (!sameJson(node.extra[f], v)) extra[f] = v;
  if (Object.keys(extra).length > 0) patch.extra = extra;
  return patch;
}

/** Reads and checks every note under `dir`, writing nothing. */
export function readVault(dir: string): VaultRead {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new HephError('not_found', `folder ${dir} does not exist`, { path: dir });
  }
  if (!isDir)
    throw new HephError('invalid_params', `${dir} is a file, not a folder`, { path: dir });

  const problems: Problem[] = [];
  const files: Walk = { notes: [], skipped: 0 };
  walk(dir, '', files, problems);
  const sidecar = readSidecar(dir);
  const notes: Plan[] = [];
  const owner = new Map<string, string>();
  const add = (path: string, plans: () => Plan[]): void => {
    try {
      for (const plan of plans()) {
        const other = owner.get(plan.id);
        if (other !== undefined) {
          throw new FileError('conflict', `has the same id (${plan.id}) as ${other}`);
        }
        owner.set(plan.id, path);
        notes.push(plan);
      }
    } catch (e) {
      if (!(e instanceof FileError)) throw e;
      problems.push({ path, message: e.message, code: e.code });
    }
  };
  for (const { path, rel } of files.notes) {
    const entry = sidecar?.files[rel.normalize('NFC')];
    add(path, () =>
      entry === undefined ? [planFile(path, rel)] : planSidecarFile(path, entry, readText(path)),
    );
  }
  const sidecarPath = join(dir, SIDECAR);
  for (const [id, n] of Object.entries(sidecar?.nodes ?? {})) {
    add(sidecarPath, () => [planSidecarNode(sidecarPath, id, n)]);
  }
  return { notes, skipped: files.skipped, problems };
}

function problemError(p: Problem, problems: readonly Problem[]): HephError {
  return new HephError(p.code, `${p.path}: ${p.message}`, {
    path: p.path,
    errors: problems.map(({ path, message }) => ({ path, message })),
  });
}

/** Without `skipInvalid`, the first bad file found while reading stops the import. */
export function refuseProblems(read: VaultRead, options: ImportOptions): void {
  const first = read.problems[0];
  if (first && !options.skipInvalid) throw problemError(first, read.problems);
}

/**
 * Stores the notes a folder read found, in one transaction (see the file comment). Notes whose
 * id is another kind here, or links to nodes neither here nor among the notes, are problems:
 * they stop the import, or with `skipInvalid` are reported in `errors`.
 */
export function applyImport(
  store: SqliteStore,
  read: VaultRead,
  options: ImportOptions = {},
): ImportReport {
  refuseProblems(read, options);
  const problems = [...read.problems];
  const fail = (p: Problem): never => {
    throw problemError(p, problems);
  };
  const report: ImportReport = {
    created: 0,
    updated: 0,
    unchanged: 0,
    skipped: read.skipped,
    errors: [],
  };
  store.transaction(() => {
    const changed = new Set<string>();
    const created = new Set<string>();
    const imported: Plan[] = [];
    for (const plan of read.notes) {
      const node = store.findNode(plan.id);
      if (!node) {
        store.importNode({
          id: plan.id,
          kind: plan.kind,
          title: plan.title,
          aliases: plan.aliases,
          body: plan.body,
          ...plan.task,
          ...(Object.keys(plan.extra).length > 0 ? { extra: plan.extra } : {}),
        });
        report.created++;
        created.add(plan.id);
        imported.push(plan);
        continue;
      }
      if (node.kind !== plan.kind) {
        const p = {
          path: plan.path,
          message: `${plan.id} is a ${node.kind} here, not a ${plan.kind}`,
          code: 'conflict' as const,
        };
        problems.push(p);
        if (!options.skipInvalid) fail(p);
        continue;
      }
      if (node.deleted) {
        store.restoreNode(plan.id);
        changed.add(plan.id);
      }
      const patch = patchFor(node, plan);
      // A context doc's title is its task's: its own is never shown, so it is not written.
      if (patch.title !== undefined && store.isContextDoc(plan.id)) delete patch.title;
      if (Object.keys(patch).length > 0) {
        // Three-way for the body: the file's change since the last import (or since the version
        // given) is applied as an edit.
        if (patch.body !== undefined && plan.base_version !== undefined) {
          patch.base_version = plan.base_version;
        }
        const after = store.updateNode(plan.id, patch, { imported: true });
        const { body: _body, base_version: _base, ...fields } = patch;
        if (Object.keys(fields).length > 0 || after.body_version !== node.body_version) {
          changed.add(plan.id);
        }
      }
      imported.push(plan);
    }
    for (const plan of imported) {
      for (const l of plan.links) {
        if (store.links(plan.id, l.type).some((x) => x.dst === l.dst)) continue;
        if (!store.findNode(l.dst)) {
          const p = {
            path: plan.path,
            message: `links: ${l.type} ${l.dst}: no such node here or in the folder`,
            code: 'not_found' as const,
          };
          problems.push(p);
          if (!options.skipInvalid) fail(p);
          continue;
        }
        store.addLink(plan.id, l.dst, l.type);
        changed.add(plan.id);
      }
    }
    for (const id of changed) if (!created.has(id)) report.updated++;
    report.unchanged = imported.length - report.created - report.updated;
  });
  report.errors = problems.map(({ path, message }) => ({ path, message }));
  return report;
}

/** Imports a folder (see the file comment). */
export function importVault(
  store: SqliteStore,
  dir: string,
  options: ImportOptions = {},
): ImportReport {
  return applyImport(store, readVault(dir), options);
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
