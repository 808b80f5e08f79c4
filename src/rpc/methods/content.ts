import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { invalid } from '../../core/errors.js';
import { NODE_KINDS } from '../../core/ids.js';
import { exportVault } from '../../model/export.js';
import { search } from '../../model/search.js';
import { importVault } from '../../model/vault-import.js';
import { outgoingWikiLinks, wikiBacklinks } from '../../model/wiki.js';
import { defineMethod } from '../registry.js';
import type { Services } from './context.js';
import { NodeRef, resolveRef } from './refs.js';

const Dir = z.string().min(1).max(4096).describe('an absolute path to a folder');

function absolute(dir: string): string {
  if (!isAbsolute(dir)) throw invalid('dir', 'must be an absolute path');
  return dir;
}

/** Search, wiki links, and moving notes in and out as markdown files. */
export function contentMethods(s: Services) {
  return [
    defineMethod({
      name: 'search',
      summary: 'Full-text search over titles and bodies, ranked, with snippets.',
      params: z.strictObject({
        query: z.string().max(1000),
        limit: z.number().int().min(1).max(1000).optional(),
        kinds: z.array(z.enum(NODE_KINDS)).optional(),
      }),
      result: '{results: [{id, kind, title, snippet, score}]}',
      handler: (p) => ({
        results: search(s.store, {
          query: p.query,
          ...(p.limit !== undefined && { limit: p.limit }),
          ...(p.kinds && { kinds: p.kinds }),
        }),
      }),
    }),
    defineMethod({
      name: 'wiki.links',
      summary: "The [[wiki links]] in a node's body and the nodes they resolve to.",
      params: z.strictObject({ id: NodeRef }),
      result: '{links: [{target, node}]}',
      handler: (p) => ({
        links: outgoingWikiLinks(s.store, resolveRef(s.store, p.id, { includeDeleted: true }).id),
      }),
    }),
    defineMethod({
      name: 'wiki.backlinks',
      summary: 'Nodes whose bodies link to this one by id, alias or title.',
      params: z.strictObject({ id: NodeRef }),
      result: '{backlinks: [{id, kind, title, targets}]}',
      handler: (p) => ({
        backlinks: wikiBacklinks(s.store, resolveRef(s.store, p.id, { includeDeleted: true }).id),
      }),
    }),
    defineMethod({
      name: 'export',
      summary: 'Writes every live node as markdown with front matter under a folder (socket only).',
      params: z.strictObject({ dir: Dir }),
      result: '{written, unchanged, removed}',
      handler: (p) => exportVault(s.store, absolute(p.dir)),
    }),
    defineMethod({
      name: 'import',
      summary:
        'Imports a heph export or a plain folder of markdown notes; idempotent (socket only).',
      params: z.strictObject({ dir: Dir, skip_invalid: z.boolean().optional() }),
      result: '{created, updated, unchanged, skipped, errors}',
      handler: (p) =>
        importVault(
          s.store,
          absolute(p.dir),
          p.skip_invalid === undefined ? {} : { skipInvalid: p.skip_invalid },
        ),
    }),
  ];
}
