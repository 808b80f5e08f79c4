import { expect } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { Model } from '../../src/model/model.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { openTestStore, type TestStore } from '../helpers/store.js';

export const TODAY = '2026-11-22'; // the test clock's day (noon UTC)

export interface TestModel extends TestStore {
  model: Model;
}

/** A model on a real SQLite file in a temp dir, "today" computed in UTC. */
export function openTestModel(opts: { seed?: number } = {}): TestModel {
  const t = openTestStore(opts) as TestModel;
  t.model = new Model(t.store, { clock: t.clock, timeZone: 'UTC' });
  return t;
}

/** Every op of `from` applied to `to`. */
export function sendOps(from: SqliteStore, to: SqliteStore): void {
  const r = to.applyOps(from.opsSince(0, 100_000).ops);
  expect(r.refused).toEqual([]);
}

export function exchange(a: SqliteStore, b: SqliteStore): void {
  sendOps(a, b);
  sendOps(b, a);
}

/** Runs `fn`, expects a HephError with `code` (and `field`), and that nothing was stored. */
export function expectRefused(
  store: SqliteStore,
  fn: () => unknown,
  code: string,
  field?: string,
): HephError {
  const digest = store.digest();
  const ops = store.opCount();
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(HephError);
  const err = caught as HephError;
  expect(err.code).toBe(code);
  if (field !== undefined) expect(err.details.field).toBe(field);
  expect(store.opCount()).toBe(ops);
  expect(store.digest()).toBe(digest);
  return err;
}
