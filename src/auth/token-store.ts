// The token store port: where a spoke keeps the tokens it got from signing in to a hub, one entry
// per hub URL. Two adapters implement it (the OS keyring, and an opt-in 0600 file) and both run
// one shared contract suite. Guarantees: a stored entry is `unknown` until parseTokens accepts
// it, so a corrupt or foreign entry is reported as a 'storage' error that names the hub and the
// store and says what to do; no message ever contains a token or the raw stored text.

import { z } from 'zod';
import { HephError } from '../core/errors.js';

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  /** When the access token expires, epoch ms. */
  expires_at: number;
  token_type: string;
  scope?: string;
  issuer: string;
  client_id: string;
  /** The hub's audience (resource indicator) the access token was issued for. */
  audience: string;
  /** The signed-in identity's subject at the issuer. */
  sub?: string;
  /** A name to show people (preferred_username, email or name), when the provider gave one. */
  name?: string;
  /** The user allowed plain http to this issuer, which is not on loopback, when signing in
   *  (`heph auth login --insecure-http`); renewals honour the same choice. */
  insecure_http?: true;
}

export type StoreKind = 'keyring' | 'file';

export type StoreStatus = { available: true } | { available: false; reason: string };

/** Secrets kept per hub URL: a login's tokens (TokenStore), a device credential. */
export interface SecretStore<T> {
  readonly kind: StoreKind;
  /** Where the secrets live, for people: "the OS keyring (Secret Service)" or the file's path. */
  readonly location: string;
  /** The entry saved for a hub, or undefined. A corrupt entry throws HephError('storage'). */
  get(hub: string): Promise<T | undefined>;
  set(hub: string, value: T): Promise<void>;
  /** Removes a hub's tokens; true when there were some. */
  delete(hub: string): Promise<boolean>;
  available(): Promise<boolean>;
  /** Like available(), with the reason when it is not. */
  status(): Promise<StoreStatus>;
}

export type TokenStore = SecretStore<Tokens>;

const TokensSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  expires_at: z.number().int().nonnegative(),
  token_type: z.string().min(1),
  scope: z.string().optional(),
  issuer: z.string().min(1),
  client_id: z.string().min(1),
  audience: z.string().min(1),
  sub: z.string().optional(),
  name: z.string().optional(),
  insecure_http: z.boolean().optional(),
});

/** The error for an entry that does not parse. Names the field, never its value. */
export function corruptEntry(hub: string, where: string, what: string): HephError {
  return new HephError(
    'storage',
    `the saved sign-in for ${hub} in ${where} is unreadable (${what}); ` +
      `run \`heph auth logout --hub ${hub}\` and then \`heph auth login --hub ${hub}\``,
    { hub, store: where },
  );
}

/** Accepts a stored value (already JSON-parsed) as Tokens, or throws a 'storage' error. */
export function parseTokens(value: unknown, hub: string, where: string): Tokens {
  const r = TokensSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'entry';
    throw corruptEntry(hub, where, `${field}: ${issue?.code ?? 'invalid'}`);
  }
  const d = r.data;
  // Rebuilt field by field so optional keys are absent rather than undefined.
  const t: Tokens = {
    access_token: d.access_token,
    expires_at: d.expires_at,
    token_type: d.token_type,
    issuer: d.issuer,
    client_id: d.client_id,
    audience: d.audience,
  };
  if (d.refresh_token !== undefined) t.refresh_token = d.refresh_token;
  if (d.scope !== undefined) t.scope = d.scope;
  if (d.sub !== undefined) t.sub = d.sub;
  if (d.name !== undefined) t.name = d.name;
  if (d.insecure_http === true) t.insecure_http = true;
  return t;
}

/** Parses stored JSON text as Tokens. The JSON parser's own message is dropped: it quotes input. */
export function parseTokensText(text: string, hub: string, where: string): Tokens {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corruptEntry(hub, where, 'not JSON');
  }
  return parseTokens(json, hub, where);
}

/**
 * The key a hub's tokens are stored under: scheme, host, port and path without a trailing slash,
 * so `https://hub.example.org/` and `https://HUB.example.org` name one entry.
 */
export function hubKey(hub: string): string {
  let url: URL;
  try {
    url = new URL(hub);
  } catch {
    throw new HephError('invalid_params', `hub URL ${JSON.stringify(hub)} is not a URL`, {
      field: 'hub',
    });
  }
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}
