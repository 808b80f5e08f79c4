import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { HephError, invalid } from '../../core/errors.js';
import { NODE_KINDS } from '../../core/ids.js';
import { exportPage, exportVault } from '../../model/export.js';
import { search } from '../../model/search.js';
import {
  applyImport,
  checkImportNote,
  importVault,
  type ImportNote,
} from '../../model/vault-import.js';
import { completeNames } from '../../model/complete.js';
import { outgoingWikiLinks, resolveWikiTarget, wikiBacklinks } from '../../model/wiki.js';
import { defineMethod, EVERYWHERE, SOCKET_ONLY } from '../registry.js';
import { withShortIds } from './node.js';
import * as R from './results.js';
import type { Services } from './context.js';
import { NodeRef, resolveRef } from './refs.js';

const Dir = z.string().min(1).max(4096).describe('an absolute path to a folder');

const ImportNoteParam = z.strictObject({
  path: z.string().min(1).max(4096).describe('where the note was read from, for messages'),
  id: z.string().min(1).max(1024),
  kind: z.enum(NODE_KINDS),
  title: z.string(),
  aliases: z.array(z.string()),
  body: z.string(),
  task: z.record(z.string(), z.json()),
  extra: z.record(z.string(), z.json()),
  links: z.array(z.strictObject({ type: z.string(), dst: z.string() })),
  base_version: z
    .string()
    .max(100_000)
    .optional()
    .describe('the body_version this text was made from (else the last import of the note)'),
});

/** Notes from another process, checked as a folder's notes are (the first bad one is named). */
function checkedNotes(notes: readonly z.infer<typeof ImportNoteParam>[]): ImportNote[] {
  const seen = new Map<string, string>();
  notes.forEach((n, i) => {
    const msg = checkImportNote(n as ImportNote);
    const other = seen.get(n.id);
    const problem =
      msg ?? (other !== undefined ? `has the same id (${n.id}) as ${other}` : undefined);
    if (problem !== undefined) {
      throw new HephError('invalid_params', `notes[${i}] (${n.path}): ${problem}`, {
        field: `notes[${i}]`,
        path: n.path,
      });
    }
    seen.set(n.id, n.path);
  });
  return notes as ImportNote[];
}

/** Refuses a relative folder path. */
export function absolute(dir: string): string {
  if (!isAbsolute(dir)) throw invalid('dir', 'must be an absolute path');
  return dir;
}

/** Search, wiki links, and moving notes in and out as markdown files. */
export function contentMethods(s: Services) {
  const noteOf = (ref: string | undefined) =>
    ref === undefined ? undefined : resolveRef(s.store, ref, { includeDeleted: true }).id;
  return [
    defineMethod({
      name: 'search',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'Full-text search over titles and bodies, ranked, with snippets.',
      params: z.strictObject({
        query: z.string().max(1000),
        limit: z.number().int().min(1).max(1000).optional(),
        kinds: z.array(z.enum(NODE_KINDS)).optional(),
      }),
      result: R.SearchResult,
      handler: (p) => ({
        results: withShortIds(
          s,
          search(s.store, {
            query: p.query,
            ...(p.limit !== undefined && { limit: p.limit }),
            ...(p.kinds && { kinds: p.kinds }),
          }),
        ),
      }),
    }),
    defineMethod({
      name: 'wiki.links',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: "The [[wiki links]] in a node's body and the nodes they resolve to.",
      params: z.strictObject({ id: NodeRef }),
      result: R.WikiResults.links,
      handler: (p) => ({
        links: outgoingWikiLinks(s.store, resolveRef(s.store, p.id, { includeDeleted: true }).id),
      }),
    }),
    defineMethod({
      name: 'wiki.backlinks',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'Nodes whose bodies link to this one by id, alias or title.',
      params: z.strictObject({ id: NodeRef }),
      result: R.WikiResults.backlinks,
      handler: (p) => ({
        backlinks: wikiBacklinks(s.store, resolveRef(s.store, p.id, { includeDeleted: true }).id),
      }),
    }),
    defineMethod({
      name: 'wiki.resolve',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary:
        'The node a [[link]] target resolves to (as wiki.links resolves it), or null; from: the ' +
        'note it is written in, for relative paths and the nearest of several.',
      params: z.strictObject({ target: z.string().max(1024), from: NodeRef.optional() }),
      result: R.WikiResults.resolve,
      handler: (p) => ({
        node: resolveWikiTarget(s.store, p.target, noteOf(p.from)),
      }),
    }),
    defineMethod({
      name: 'wiki.complete',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary:
        'Titles and aliases to complete a [[link]] with: those starting with the typed text ' +
        'first, then those containing it (ignoring case), each once, with the node it resolves to.',
      params: z.strictObject({
        prefix: z.string().max(1024).describe('what was typed after [[; empty: every name'),
        limit: z.number().int().min(1).max(500).optional().describe('default 50'),
        from: NodeRef.optional().describe('the note being edited'),
      }),
      result: R.WikiResults.complete,
      handler: (p) => ({
        names: completeNames(s.store, p.prefix, p.limit ?? 50, noteOf(p.from)),
      }),
    }),
    defineMethod({
      name: 'export',
      role: 'admin',
      surfaces: SOCKET_ONLY,
      summary:
        'Writes every live note, task, project and journal under a folder as a vault, with ' +
        "heph's own data in .heph/ (socket only).",
      params: z.strictObject({ dir: Dir }),
      result: R.ExportResult,
      handler: (p) => exportVault(s.store, absolute(p.dir)),
    }),
    defineMethod({
      name: 'import',
      role: 'admin',
      surfaces: SOCKET_ONLY,
      summary:
        'Imports a heph export or a plain folder of markdown notes; idempotent (socket only).',
      params: z.strictObject({ dir: Dir, skip_invalid: z.boolean().optional() }),
      result: R.ImportResult,
      handler: (p) =>
        importVault(
          s.store,
          absolute(p.dir),
          p.skip_invalid === undefined ? {} : { skipInvalid: p.skip_invalid },
        ),
    }),
    defineMethod({
      name: 'export.nodes',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary:
        'A page of live nodes in id order with their typed links: what an export writes ' +
        '(client mode exports with it).',
      params: z.strictObject({
        after: z.string().max(1024).optional().describe('the next of the previous page'),
        limit: z.number().int().min(1).max(1000).optional().describe('default 200'),
      }),
      result: R.ExportPageResult,
      handler: (p) => {
        const page = exportPage(s.store, p.after, p.limit ?? 200);
        return {
          nodes: page.entries.map((e) => ({
            ...e.node,
            links: e.links,
            ...(e.note && { note: e.note }),
            ...(e.own_body !== undefined && { own_body: e.own_body }),
          })),
          next: page.next,
        };
      },
    }),
    defineMethod({
      name: 'import.notes',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary:
        'Stores notes read from a folder elsewhere, in one transaction, as import does ' +
        '(client mode imports with it).',
      params: z.strictObject({
        notes: z.array(ImportNoteParam).max(100_000),
        skip_invalid: z.boolean().optional(),
      }),
      result: R.ImportResult,
      handler: (p) =>
        applyImport(
          s.store,
          { notes: checkedNotes(p.notes), skipped: 0, problems: [] },
          p.skip_invalid === undefined ? {} : { skipInvalid: p.skip_invalid },
        ),
    }),
  ];
}
