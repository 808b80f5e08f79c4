// Recently used body documents kept live (decoded Yjs documents with their text), so a save or
// a merged op costs what it changes rather than a decode and an encode of the whole note.
// Guarantees:
// - an entry is the document as the database holds it in the open transaction, or, when none is
//   open, as committed: the store takes a document out (`take`) before changing it, and puts it
//   back only once what changed is written;
// - every entry put while a transaction is open is dropped if that transaction rolls back
//   (`rollback`), so no entry is ever ahead of the database;
// - the entries' estimated memory stays within `maxBytes` and their number within `maxDocs`
//   (least recently used go first); a document estimated above the whole budget is not kept.
// The estimate (see `estimateBytes`) was calibrated with heap snapshots of decoded documents:
// about 270 bytes per Yjs struct and the text held twice (the items' strings and `text`).

import type { Doc } from 'yjs';

/** A decoded body document and what its stored form holds (see bodies.ts, body_parts). */
export interface LiveDoc {
  doc: Doc;
  /** The document's text, kept current. */
  text: string;
  /** Bytes of the stored state (part 0); 0 when nothing is stored yet. */
  base: number;
  /** Bytes and number of the updates stored after it. */
  tailBytes: number;
  tailParts: number;
  /** The part number the next update is stored under (0: nothing stored yet). */
  next: number;
}

export interface BodyCacheOptions {
  maxBytes: number;
  maxDocs: number;
}

export const DEFAULT_BODY_CACHE: BodyCacheOptions = { maxBytes: 16 * 1024 * 1024, maxDocs: 64 };

/** Estimated heap held by a live document and its text. */
export function estimateBytes(live: LiveDoc): number {
  let structs = 0;
  for (const list of live.doc.store.clients.values()) structs += list.length;
  return 2048 + 4 * live.text.length + 320 * structs;
}

interface Entry {
  live: LiveDoc;
  bytes: number;
}

export class BodyCache {
  private readonly entries = new Map<string, Entry>();
  /** Keys put since the last commit or rollback. */
  private readonly provisional = new Set<string>();
  private total = 0;

  constructor(private readonly options: BodyCacheOptions = DEFAULT_BODY_CACHE) {}

  private static key(node: string, branch: string): string {
    return `${node}\u0000${branch}`;
  }

  /** Takes a document out of the cache (the caller changes it, then puts it back). */
  take(node: string, branch: string): LiveDoc | undefined {
    const key = BodyCache.key(node, branch);
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.total -= e.bytes;
    return e.live;
  }

  /** The text of a cached document, marking it recently used. */
  text(node: string, branch: string): string | undefined {
    const key = BodyCache.key(node, branch);
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.live.text;
  }

  /** Keeps a document that matches the database now; it becomes the most recently used. */
  put(node: string, branch: string, live: LiveDoc): void {
    const key = BodyCache.key(node, branch);
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.total -= old.bytes;
      if (old.live.doc !== live.doc) old.live.doc.destroy();
    }
    const bytes = estimateBytes(live);
    if (bytes > this.options.maxBytes || this.options.maxDocs < 1) {
      live.doc.destroy();
      return;
    }
    this.entries.set(key, { live, bytes });
    this.total += bytes;
    this.provisional.add(key);
    for (const [k, e] of this.entries) {
      if (this.total <= this.options.maxBytes && this.entries.size <= this.options.maxDocs) break;
      this.entries.delete(k);
      this.total -= e.bytes;
      e.live.doc.destroy();
    }
  }

  /** The transaction committed: what was put is now the committed state. */
  commit(): void {
    this.provisional.clear();
  }

  /** The transaction rolled back: drops what was put during it. */
  rollback(): void {
    for (const key of this.provisional) {
      const e = this.entries.get(key);
      if (!e) continue;
      this.entries.delete(key);
      this.total -= e.bytes;
      e.live.doc.destroy();
    }
    this.provisional.clear();
  }

  clear(): void {
    for (const e of this.entries.values()) e.live.doc.destroy();
    this.entries.clear();
    this.provisional.clear();
    this.total = 0;
  }

  /** How many documents and estimated bytes are held (for status and benchmarks). */
  stats(): { docs: number; bytes: number } {
    return { docs: this.entries.size, bytes: this.total };
  }
}
