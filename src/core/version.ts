// Versions of a node's body: the highest body op id of each replica that wrote to it. Replicas
// receive each origin's ops in id order (an origin pushes in order; the hub stamps in arrival
// order), so a version names exactly the set of body ops a replica held when it read it: an op
// is covered when its id is at or below its origin's entry. The same version means the same body
// on every replica, in client mode and on any hub process. Pure.
//
// Wire form: the ids sorted, joined by ','. '' is the version of a body no op has written.

import { invalid } from './errors.js';
import { isHlcString, originOf } from './hlc.js';

/** origin → the highest op id of that origin in the version. */
export type Version = ReadonlyMap<string, string>;

export const EMPTY_VERSION: Version = new Map();

/** Parses a version's wire form; throws invalid_params naming `field` for anything else. */
export function parseVersion(token: unknown, field = 'base_version'): Version {
  if (typeof token !== 'string') throw invalid(field, 'must be a string (a body_version)');
  if (token === '') return EMPTY_VERSION;
  const ids = token.split(',');
  if (ids.length > 4096) throw invalid(field, 'names too many replicas');
  const v = new Map<string, string>();
  for (const id of ids) {
    if (!isHlcString(id)) {
      throw invalid(
        field,
        `is not a body_version: ${JSON.stringify(String(id).slice(0, 40))} is not an op id`,
      );
    }
    const o = originOf(id);
    if (v.has(o)) throw invalid(field, `is not a body_version: names replica ${o} twice`);
    v.set(o, id);
  }
  return v;
}

/** The ids of a version (one per origin), sorted. */
export function versionIds(v: Version): string[] {
  return [...v.values()].sort();
}

export function formatVersion(v: Version): string {
  return versionIds(v).join(',');
}

/** A version from a list of op ids (any number per origin: the highest counts). */
export function versionOf(ids: Iterable<string>): Version {
  const v = new Map<string, string>();
  for (const id of ids) {
    const o = originOf(id);
    const had = v.get(o);
    if (had === undefined || id > had) v.set(o, id);
  }
  return v;
}

/** The version that also covers `id`. */
export function withOp(v: Version, id: string): Version {
  const o = originOf(id);
  const had = v.get(o);
  if (had !== undefined && had >= id) return v;
  const out = new Map(v);
  out.set(o, id);
  return out;
}

export function covers(v: Version, id: string): boolean {
  const had = v.get(originOf(id));
  return had !== undefined && id <= had;
}

/** Every op `a` covers, `b` covers too. */
export function within(a: Version, b: Version): boolean {
  for (const id of a.values()) if (!covers(b, id)) return false;
  return true;
}

export function union(a: Version, b: Version): Version {
  let out = a;
  for (const id of b.values()) out = withOp(out, id);
  return out;
}
