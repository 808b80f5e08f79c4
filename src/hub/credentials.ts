// The hub's own secrets: device credentials (`hd_…`) and one-time enrolment tokens (`he_…`).
// Guarantees: each is 256 bits from the operating system's CSPRNG, base64url, behind a prefix
// that says what it is (so a token pasted in the wrong place is recognised, and secret scanners
// can find one); the hub store only ever sees its SHA-256 (a fast hash is enough for 256 random
// bits: nothing to guess); a malformed value is refused before any lookup. Device ids are random
// too (50 bits, lower-case base32), short enough to type.

import { createHash, randomBytes } from 'node:crypto';
import { invalid } from '../core/errors.js';

export const DEVICE_CREDENTIAL_PREFIX = 'hd_';
export const ENROLMENT_TOKEN_PREFIX = 'he_';

export type SecretKind = 'device' | 'enrolment';

const PREFIX: Record<SecretKind, string> = {
  device: DEVICE_CREDENTIAL_PREFIX,
  enrolment: ENROLMENT_TOKEN_PREFIX,
};

export interface Secret {
  /** Shown once, to the one who asked; never stored, logged or echoed. */
  plain: string;
  /** What the hub store keeps. */
  hash: string;
}

export function hashSecret(plain: string): string {
  return createHash('sha256').update(plain).digest('hex');
}

export function newSecret(kind: SecretKind): Secret {
  const plain = PREFIX[kind] + randomBytes(32).toString('base64url');
  return { plain, hash: hashSecret(plain) };
}

/** Whether `s` has the shape of a secret of `kind` (43 base64url characters after the prefix). */
export function isSecret(kind: SecretKind, s: unknown): s is string {
  return (
    typeof s === 'string' &&
    s.length === PREFIX[kind].length + 43 &&
    s.startsWith(PREFIX[kind]) &&
    /^[A-Za-z0-9_-]+$/.test(s.slice(PREFIX[kind].length))
  );
}

/** The kind a bearer value claims by its prefix, if any. */
export function secretKindOf(s: string): SecretKind | undefined {
  if (s.startsWith(DEVICE_CREDENTIAL_PREFIX)) return 'device';
  if (s.startsWith(ENROLMENT_TOKEN_PREFIX)) return 'enrolment';
  return undefined;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A new device id: 10 lower-case base32 characters. */
export function newDeviceId(): string {
  const bytes = randomBytes(10);
  let id = '';
  for (const b of bytes) id += BASE32[b & 31];
  return id;
}

export const DEFAULT_ENROL_TTL_MS = 3_600_000;
export const MAX_ENROL_TTL_MS = 24 * 3_600_000;
const MIN_ENROL_TTL_MS = 60_000;

/** An enrolment token's time to live: `90s`, `30m`, `1h`, `1h30m`; 1 minute to 24 hours. */
export function parseTtl(ttl: string | undefined, field = 'ttl'): number {
  if (ttl === undefined) return DEFAULT_ENROL_TTL_MS;
  const m = /^(?:(\d{1,3})h)?(?:(\d{1,5})m)?(?:(\d{1,6})s)?$/.exec(ttl.trim());
  if (m === null || ttl.trim() === '') {
    throw invalid(field, 'must be a duration such as 30m, 1h or 2h30m');
  }
  const ms = Number(m[1] ?? 0) * 3_600_000 + Number(m[2] ?? 0) * 60_000 + Number(m[3] ?? 0) * 1000;
  if (ms < MIN_ENROL_TTL_MS || ms > MAX_ENROL_TTL_MS) {
    throw invalid(field, 'must be between 1 minute and 24 hours');
  }
  return ms;
}
