import { z } from 'zod';
import { LINK_TYPES, linkId, type LinkType } from '../../core/ids.js';
import { wikiBacklinks } from '../../model/wiki.js';
import type { LinkView } from '../../ports/store.js';
import { defineMethod, EVERYWHERE } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';
import { NodeRef, resolveRef, shortIds } from './refs.js';

const TypedLink = z.enum(LINK_TYPES.filter((t) => t !== 'wiki') as [LinkType, ...LinkType[]]);

export function linkMethods(s: Services) {
  return [
    defineMethod({
      name: 'link.add',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Adds a typed link (wiki links come from note bodies and cannot be added by hand).',
      params: z.strictObject({ src: NodeRef, dst: NodeRef, type: TypedLink }),
      result: R.LinkResult,
      handler: (p) => {
        const src = resolveRef(s.store, p.src).id;
        return withEndShortIds(s, [
          s.store.addLink(src, resolveRef(s.store, p.dst).id, p.type),
        ])[0]!;
      },
    }),
    defineMethod({
      name: 'link.remove',
      role: 'editor',
      surfaces: EVERYWHERE,
      summary: 'Removes a typed link.',
      params: z.strictObject({ src: NodeRef, dst: NodeRef, type: TypedLink }),
      result: R.Removed,
      handler: (p) => {
        s.store.removeLink(resolveRef(s.store, p.src).id, resolveRef(s.store, p.dst).id, p.type);
        return { removed: true };
      },
    }),
    defineMethod({
      name: 'link.list',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: "A node's outgoing links: typed links, and the wiki links written in its body.",
      params: z.strictObject({ id: NodeRef, type: z.enum(LINK_TYPES).optional() }),
      result: R.LinksResult,
      handler: (p) => {
        const id = resolveRef(s.store, p.id, { includeDeleted: true }).id;
        return {
          links: p.type === 'wiki' ? [] : withEndShortIds(s, s.store.links(id, p.type)),
          wiki: p.type === undefined || p.type === 'wiki' ? s.store.wikiTargets(id) : [],
        };
      },
    }),
    defineMethod({
      name: 'link.backlinks',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary:
        'Links pointing at a node: its typed links, or with type "wiki" one link from each note ' +
        'whose body links to it (the notes wiki.backlinks gives).',
      params: z.strictObject({
        id: NodeRef,
        type: z
          .enum(LINK_TYPES)
          .optional()
          .describe('without it, typed links only; "wiki" for the links written in bodies'),
      }),
      result: R.LinkList,
      handler: (p) => {
        const id = resolveRef(s.store, p.id, { includeDeleted: true }).id;
        const links = p.type === 'wiki' ? wikiLinksTo(s, id) : s.store.backlinks(id, p.type);
        return { links: withEndShortIds(s, links) };
      },
    }),
  ];
}

/** Links with the short ids every list shows for the nodes at both ends. */
function withEndShortIds(s: Services, links: LinkView[]) {
  const ids = shortIds(
    s.store,
    links.flatMap((l) => [l.src, l.dst]),
  );
  return links.map((l) => ({
    ...l,
    src_short_id: ids.get(l.src) ?? l.src,
    dst_short_id: ids.get(l.dst) ?? l.dst,
  }));
}

/** wiki.backlinks as links: one per node whose body links here, by id like the typed ones. */
function wikiLinksTo(s: Services, dst: string): LinkView[] {
  return wikiBacklinks(s.store, dst)
    .map((b): LinkView => ({ id: linkId(b.id, 'wiki', dst), src: b.id, dst, type: 'wiki' }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
