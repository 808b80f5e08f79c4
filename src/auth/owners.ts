// Who a hub serves, decided from a verified identity. Owners are keyed by (iss, sub).
// Rules, in order:
//   1. an identity from another issuer is refused;
//   2. the hub owner is the `--owner SUB` pin if given, else the identity that claimed the hub;
//   3. the hub owner gets role 'owner' (the hub's own partition); a pinned owner's first sign-in
//      is recorded as the claim, so removing the pin later keeps them;
//   4. an unclaimed, unpinned hub is claimed by the first identity allowed to sign in (when
//      `--allow-users` lists subs, only by one of them);
//   5. anyone else gets role 'user' (a partition of their own) when `--allow-users` is `*` or
//      lists their sub, and is refused otherwise.
// `decide` is pure; `createOwnerPolicy` adds persistence and makes concurrent first sign-ins
// claim the hub exactly once.

import { HephError } from '../core/errors.js';

export interface Identity {
  iss: string;
  sub: string;
}

export interface OwnerPolicyConfig {
  /** The only issuer the hub trusts. */
  issuer: string;
  /** `--owner SUB`: this subject is the hub owner. */
  owner?: string;
  /** `--allow-users SUB,SUB` or `*`: who besides the owner may use the hub (default nobody). */
  allowUsers?: readonly string[] | '*';
}

export type Role = 'owner' | 'user';

export interface Access {
  role: Role;
  identity: Identity;
}

export type Decision =
  | { allow: true; access: Access; /** persist `identity` as the hub owner */ claim: boolean }
  | { allow: false; reason: string };

export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.iss === b.iss && a.sub === b.sub;
}

/** A stable string key for an identity, e.g. for a partition table. */
export function identityKey(id: Identity): string {
  return JSON.stringify([id.iss, id.sub]);
}

/** `--allow-users` as given on the command line: `*`, or subjects separated by commas. */
export function parseAllowUsers(value: string): readonly string[] | '*' {
  if (value.trim() === '*') return '*';
  const subs = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (subs.includes('*'))
    throw new HephError('invalid_params', '--allow-users: `*` must stand alone', {
      field: 'allow-users',
    });
  return subs;
}

function allowed(config: OwnerPolicyConfig, sub: string): boolean | undefined {
  const a = config.allowUsers;
  if (a === undefined) return undefined;
  return a === '*' || a.includes(sub);
}

export function decide(
  config: OwnerPolicyConfig,
  claimed: Identity | undefined,
  id: Identity,
): Decision {
  if (id.iss !== config.issuer) return { allow: false, reason: 'token is from another issuer' };
  id = { iss: id.iss, sub: id.sub }; // a verified token carries more; the decision needs only these
  const hubOwner = config.owner !== undefined ? { iss: config.issuer, sub: config.owner } : claimed;
  if (hubOwner !== undefined && sameIdentity(hubOwner, id)) {
    const claim = claimed === undefined || !sameIdentity(claimed, id);
    return { allow: true, access: { role: 'owner', identity: id }, claim };
  }
  if (hubOwner === undefined) {
    if (allowed(config, id.sub) === false) {
      return { allow: false, reason: 'this account is not among the users this hub allows' };
    }
    return { allow: true, access: { role: 'owner', identity: id }, claim: true };
  }
  if (allowed(config, id.sub) === true) {
    return { allow: true, access: { role: 'user', identity: id }, claim: false };
  }
  return {
    allow: false,
    reason: 'this hub belongs to another account and does not serve this one',
  };
}

export interface OwnerPolicyState {
  /** The identity that claimed the hub, as last persisted (undefined: unclaimed). */
  claimed?: Identity;
  /**
   * Stores a new claim replacing `previous`; authorize() waits for it, and fails if it fails.
   * It may return the claim as stored, which differs when another process claimed first.
   */
  persist(
    owner: Identity,
    previous: Identity | undefined,
  ): Promise<Identity | void> | Identity | void;
}

export interface OwnerPolicy {
  /** Access for a verified identity, or HephError 'forbidden'. */
  authorize(id: Identity): Promise<Access>;
  /** The hub owner now: the pin, else the claim. */
  owner(): Identity | undefined;
}

export function createOwnerPolicy(config: OwnerPolicyConfig, state: OwnerPolicyState): OwnerPolicy {
  let claimed = state.claimed;
  let queue: Promise<unknown> = Promise.resolve();

  async function authorizeNow(id: Identity): Promise<Access> {
    const d = decide(config, claimed, id);
    if (!d.allow) throw new HephError('forbidden', d.reason, { sub: id.sub });
    if (d.claim) {
      const mine = { iss: id.iss, sub: id.sub };
      const stored = (await state.persist(mine, claimed)) ?? mine;
      claimed = { iss: stored.iss, sub: stored.sub };
      // Someone else's claim was stored first: decide again with it.
      if (!sameIdentity(stored, mine)) return authorizeNow(id);
    }
    return d.access;
  }

  return {
    authorize(id) {
      const quick = decide(config, claimed, id);
      if (quick.allow && !quick.claim) return Promise.resolve(quick.access);
      // Claims (and decisions that may depend on one) run one at a time.
      const run = queue.then(() => authorizeNow(id));
      queue = run.catch(() => undefined);
      return run;
    },
    owner: () => (config.owner !== undefined ? { iss: config.issuer, sub: config.owner } : claimed),
  };
}
