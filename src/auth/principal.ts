// Who is calling: one Principal per hub request and per RPC call, and the one rule that decides
// whether it may. Guarantees: roles are totally ordered (viewer < editor < admin) and a role
// includes every role below it; a principal's role follows from how it authenticated, in one
// place (principalFor), never from what a request claims about itself; a refusal is a HephError
// `forbidden` (HTTP 403) that names what was refused, the role it needs and the caller's role.
//
// How each credential maps (roles are per owner's data, never across owners):
//   local_socket  admin  the daemon's unix socket: it lives in a 0700 directory of its user, so
//                        whoever can open it already holds that user's files.
//   owner_login   admin  an owner's sign-in token on the hub: the owner administers its own data.
//   open_hub      admin  a hub without an identity provider authenticates nobody, so it cannot
//                        tell callers apart: everyone who reaches it is treated as its owner.
//                        That is why such a hub listens on loopback only unless --insecure-open.
//   device        editor a device's own credential: it syncs and edits, it does not administer.
// API keys (viewer or editor, from the key) and the operator token join this table as kinds of
// their own.

import { HephError } from '../core/errors.js';

export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** How a caller authenticated. */
export type AuthKind = 'local_socket' | 'owner_login' | 'open_hub' | 'device';

export interface Principal {
  /** The hub owner whose data the caller works on; absent on a local daemon, whose replica is
   *  one user's. */
  readonly owner?: number;
  readonly role: Role;
  readonly via: AuthKind;
  /** The device (replica id) the caller is, when its credential proves it. */
  readonly device?: string;
}

/** An authenticated credential, as the code that verified it knows it. */
export type Credential =
  | { kind: 'local_socket'; owner?: number; replica?: string | undefined }
  | { kind: 'owner_login'; owner: number }
  | { kind: 'open_hub'; owner: number }
  | { kind: 'device'; owner: number; replica: string | undefined };

/** The role a credential of each kind holds. */
export const ROLE_OF: { readonly [K in Credential['kind']]: Role } = {
  local_socket: 'admin',
  owner_login: 'admin',
  open_hub: 'admin',
  device: 'editor',
};

/** A principal that works on a hub owner's data. */
export type OwnedPrincipal = Principal & { readonly owner: number };

/** The principal an authenticated credential stands for (with an owner when it names one). */
export function principalFor<C extends Credential>(
  c: C,
): C extends { owner: number } ? OwnedPrincipal : Principal {
  return principalOf(c) as C extends { owner: number } ? OwnedPrincipal : Principal;
}

function principalOf(c: Credential): Principal {
  const role = ROLE_OF[c.kind];
  switch (c.kind) {
    case 'local_socket':
      return {
        ...(c.owner !== undefined && { owner: c.owner }),
        role,
        via: c.kind,
        ...(c.replica !== undefined && { device: c.replica }),
      };
    case 'owner_login':
    case 'open_hub':
      return { owner: c.owner, role, via: c.kind };
    case 'device':
      return {
        owner: c.owner,
        role,
        via: c.kind,
        ...(c.replica !== undefined && { device: c.replica }),
      };
  }
}

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

/** Whether `role` includes `needed`. */
export function hasRole(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** What a caller of each kind can do when refused, if anything. */
const HINTS: { readonly [K in AuthKind]?: string } = {
  device:
    "a device credential; administering the hub takes an owner's sign-in, not a device " +
    'credential: run it with your login (heph device …)',
};

/** Throws `forbidden` unless the principal holds `needed`; `what` names the method or route. */
export function authorize(principal: Principal, needed: Role, what: string): void {
  if (hasRole(principal.role, needed)) return;
  const hint = HINTS[principal.via];
  throw new HephError(
    'forbidden',
    `${what} needs the ${needed} role; this caller is ${article(principal.role)} ` +
      `${principal.role}${hint === undefined ? '' : ` (${hint})`}`,
    { needs: needed, role: principal.role },
  );
}

const article = (role: Role): string => (role === 'admin' || role === 'editor' ? 'an' : 'a');
