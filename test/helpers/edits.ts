// Random edits on two replicas editing the same few nodes, with occasional one-way exchanges
// (so concurrent writes, superseded heads and pending ids all occur), for the store's property
// tests.

import fc from 'fast-check';
import { allOps, type TestStore } from './store.js';

export type Edit =
  | { t: 'create'; r: number; kind: 'doc' | 'task' }
  | { t: 'title'; r: number; n: number; v: number }
  | { t: 'state'; r: number; n: number; v: number }
  | { t: 'extra'; r: number; n: number; v: number }
  | { t: 'body'; r: number; n: number; v: number; wiki: boolean }
  | { t: 'delete'; r: number; n: number }
  | { t: 'link'; r: number; a: number; b: number }
  | { t: 'sync'; from: number; to: number };

export function editArb(): fc.Arbitrary<Edit> {
  const r = fc.nat(1);
  const n = fc.nat(8);
  const v = fc.nat(5);
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('create' as const),
        r,
        kind: fc.constantFrom('doc' as const, 'task' as const),
      }),
    },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('title' as const), r, n, v }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('state' as const), r, n, v }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('extra' as const), r, n, v }) },
    {
      weight: 4,
      arbitrary: fc.record({ t: fc.constant('body' as const), r, n, v, wiki: fc.boolean() }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), r, n }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('link' as const), r, a: n, b: n }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('sync' as const), from: r, to: r }) },
  );
}

/** Two replicas editing the same few nodes, with occasional one-way exchanges (so concurrent
 *  writes, superseded heads and pending ids all occur). */
export function edit(rs: TestStore[], e: Edit): void {
  if (e.t === 'sync') {
    if (e.from !== e.to) rs[e.to]!.store.applyOps(allOps(rs[e.from]!.store));
    return;
  }
  const h = rs[e.r]!;
  h.clock.advance(7);
  const s = h.store;
  if (e.t === 'create') {
    s.createNode({ kind: e.kind, title: 'new', body: 'start\n' });
    return;
  }
  const nodes = s.listNodes({ scope: 'all', limit: 1000 }).sort((x, y) => (x.id < y.id ? -1 : 1));
  if (nodes.length === 0) return;
  const pick = (i: number) => nodes[i % nodes.length]!;
  switch (e.t) {
    case 'title':
      s.updateNode(pick(e.n).id, { title: `title ${e.v}` });
      return;
    case 'state': {
      const node = pick(e.n);
      if (node.kind === 'task') {
        s.updateNode(node.id, { state: (['outstanding', 'done', 'dropped'] as const)[e.v % 3]! });
      }
      return;
    }
    case 'extra':
      s.updateNode(pick(e.n).id, { extra: { colour: e.v % 2 === 0 ? `c${e.v}` : { shade: e.v } } });
      return;
    case 'body': {
      const node = pick(e.n);
      const line = e.wiki ? `see [[title ${e.v}]]\n` : `line ${e.v}\n`;
      const body = e.v === 0 ? line : `${node.body}${line}`;
      s.updateNode(node.id, { body });
      return;
    }
    case 'delete':
      if (!pick(e.n).deleted) s.deleteNode(pick(e.n).id);
      return;
    case 'link': {
      const a = pick(e.a).id;
      const b = pick(e.b).id;
      if (a !== b) s.addLink(a, b, 'parent');
      return;
    }
  }
}
