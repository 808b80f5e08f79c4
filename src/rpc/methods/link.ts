import { z } from 'zod';
import { LINK_TYPES, type LinkType } from '../../core/ids.js';
import { defineMethod } from '../registry.js';
import type { Services } from './context.js';
import { NodeRef, resolveRef } from './refs.js';

const TypedLink = z.enum(LINK_TYPES.filter((t) => t !== 'wiki') as [LinkType, ...LinkType[]]);

export function linkMethods(s: Services) {
  return [
    defineMethod({
      name: 'link.add',
      summary: 'Adds a typed link (wiki links come from note bodies and cannot be added by hand).',
      params: z.strictObject({ src: NodeRef, dst: NodeRef, type: TypedLink }),
      result: 'link',
      handler: (p) =>
        s.store.addLink(resolveRef(s.store, p.src).id, resolveRef(s.store, p.dst).id, p.type),
    }),
    defineMethod({
      name: 'link.remove',
      summary: 'Removes a typed link.',
      params: z.strictObject({ src: NodeRef, dst: NodeRef, type: TypedLink }),
      result: '{removed: true}',
      handler: (p) => {
        s.store.removeLink(resolveRef(s.store, p.src).id, resolveRef(s.store, p.dst).id, p.type);
        return { removed: true };
      },
    }),
    defineMethod({
      name: 'link.list',
      summary: "A node's outgoing links: typed links, and the wiki links written in its body.",
      params: z.strictObject({ id: NodeRef, type: z.enum(LINK_TYPES).optional() }),
      result: '{links: link[], wiki: string[]}',
      handler: (p) => {
        const id = resolveRef(s.store, p.id, { includeDeleted: true }).id;
        return {
          links: p.type === 'wiki' ? [] : s.store.links(id, p.type),
          wiki: p.type === undefined || p.type === 'wiki' ? s.store.wikiTargets(id) : [],
        };
      },
    }),
    defineMethod({
      name: 'link.backlinks',
      summary: 'Links pointing at a node.',
      params: z.strictObject({ id: NodeRef, type: z.enum(LINK_TYPES).optional() }),
      result: '{links: link[]}',
      handler: (p) => {
        const id = resolveRef(s.store, p.id, { includeDeleted: true }).id;
        return { links: p.type === 'wiki' ? [] : s.store.backlinks(id, p.type) };
      },
    }),
  ];
}
