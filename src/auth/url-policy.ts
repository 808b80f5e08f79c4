// The one rule for URLs heph reaches an identity provider at (its issuer, discovery document, key
// set, device and token endpoints, and every redirect between them), and the one test for "on
// this machine" that the hub client and the hub's listen check share. Guarantees: https is always
// allowed; plain http only to a loopback host written literally in the URL (127.0.0.0/8, ::1,
// `localhost`; never decided by DNS) or when the user opted in explicitly, and the refusal names
// that opt-in; every other scheme is refused. A fetch made through guardedFetch checks every URL
// before it is requested, redirects included, so an https or loopback URL that redirects to plain
// http off loopback is refused before the redirect is followed.

import { HephError } from '../core/errors.js';

/**
 * Whether a host names this machine: 127.0.0.0/8 in any spelling the URL parser accepts
 * (127.1, 0x7f.1), ::1 (bracketed or not, however written), IPv4-mapped ::ffff:127.x, and
 * `localhost`. Nothing else: a name that merely resolves to loopback is not trusted.
 */
export function isLoopbackHost(host: string): boolean {
  const raw = host.trim().toLowerCase();
  if (raw === 'localhost') return true;
  const bare = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  let h: string;
  try {
    h = new URL(`http://${bare.includes(':') ? `[${bare}]` : bare}/`).hostname;
  } catch {
    return false;
  }
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  if (h === '[::1]') return true;
  // ::ffff:127.0.0.1 is printed as [::ffff:7f00:1]: the mapped address's first half is 7fxx.
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(h);
}

/** How the CLI and the daemon's sign-in renewal let a user allow it. */
export const CLI_OPT_IN = 'pass --insecure-http (HEPH_INSECURE_HTTP=1) to `heph auth login`';
/** How a hub operator allows it. */
export const HUB_OPT_IN =
  'start the hub with --insecure-oidc-http (HEPH_INSECURE_OIDC_HTTP=1, or ' +
  '"insecure_oidc_http": true in its config file)';

/** How plain http to an identity provider off loopback is treated. */
export interface ProviderUrlPolicy {
  /** The user explicitly allowed plain http off loopback. */
  insecureHttp: boolean;
  /** How to allow it, for the refusal: e.g. "pass --insecure-http". */
  optIn: string;
}

/** True for a plain-http URL whose host is not loopback (the case that needs an opt-in). */
export function isPlainHttpOffLoopback(url: URL): boolean {
  return url.protocol === 'http:' && !isLoopbackHost(url.hostname);
}

/**
 * The URL, if heph may fetch identity-provider material from it; else a HephError
 * 'invalid_params' (field `issuer`) saying why and how to allow it.
 */
export function checkProviderUrl(raw: string | URL, policy: ProviderUrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HephError(
      'invalid_params',
      `the identity provider's address ${JSON.stringify(String(raw))} is not a URL`,
      { field: 'issuer' },
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new HephError(
      'invalid_params',
      `the identity provider's address must be https:// (got ${url.protocol}//${url.host})`,
      { field: 'issuer', url: url.href },
    );
  }
  if (isPlainHttpOffLoopback(url) && !policy.insecureHttp) {
    throw new HephError(
      'invalid_params',
      `refusing plain http to the identity provider at ${url.origin}: it is not on loopback, ` +
        'so anyone on the network path could read or forge the tokens and signing keys it ' +
        `sends. Use its https:// address, or ${policy.optIn} if you trust that network`,
      { field: 'issuer', url: url.href, insecure_http: true },
    );
  }
  return url;
}

/** The fetch the hub's key cache uses (tests inject one). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** What guardedFetch reads of a request: openid-client's customFetch options or RequestInit. */
interface FetchInit {
  method?: string;
  redirect?: 'follow' | 'manual' | 'error';
}

const MAX_REDIRECTS = 5;
const REDIRECT = new Set([301, 302, 303, 307, 308]);

/**
 * `fetchFn` with the policy checked before every request. A caller that asks for
 * `redirect: 'manual'` (openid-client always does) gets redirects back unfollowed; otherwise a
 * GET's redirects are followed here, up to 5, each target checked before it is requested.
 * Other methods never follow a redirect.
 */
export function guardedFetch<I extends FetchInit>(
  fetchFn: (input: string, init: I) => Promise<Response>,
  policy: ProviderUrlPolicy,
): (input: string, init: I) => Promise<Response> {
  return async (input, init) => {
    const method = (init.method ?? 'GET').toUpperCase();
    const follow =
      (init.redirect === undefined || init.redirect === 'follow') &&
      (method === 'GET' || method === 'HEAD');
    const redirect = init.redirect === 'error' ? 'error' : 'manual';
    let url = checkProviderUrl(input, policy);
    for (let hops = 0; ; hops++) {
      const res = await fetchFn(url.href, { ...init, redirect });
      const location = res.headers.get('location');
      if (!follow || !REDIRECT.has(res.status) || location === null) return res;
      await res.body?.cancel().catch(() => undefined);
      if (hops === MAX_REDIRECTS) {
        throw new HephError(
          'unavailable',
          `the identity provider redirected more than ${MAX_REDIRECTS} times from ${input}`,
          { url: input },
        );
      }
      url = redirectTarget(url, location, policy);
    }
  };
}

function redirectTarget(from: URL, location: string, policy: ProviderUrlPolicy): URL {
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw new HephError(
      'unavailable',
      `the identity provider at ${from.href} redirected to something that is not a URL`,
      { url: from.href },
    );
  }
  try {
    return checkProviderUrl(to, policy);
  } catch (e) {
    if (!(e instanceof HephError)) throw e;
    throw new HephError('invalid_params', `${from.href} redirected to ${to.href}; ${e.message}`, {
      ...e.details,
      redirected_from: from.href,
    });
  }
}
