// Content codings on the hub's HTTP (RFC 9110 §8.4, and RFC 7694 for request bodies): gzip and
// br, in both directions. Guarantees: a reply is encoded only in a coding its client listed in
// Accept-Encoding (never when it listed none), and only when it is large enough to gain; a
// request body is encoded only in a coding the hub said it reads (the Accept-Encoding header of
// its replies), so an older hub that does not say so is never sent one; decoding stops with a
// `too_large` error as soon as the decoded bytes pass the limit (a small compressed body cannot
// make the reader allocate more than the limit), and a body that is not valid in its coding is
// an `invalid_params` error naming the coding, never a partial body.

import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { HephError } from '../core/errors.js';

export type Coding = 'br' | 'gzip';

/** The codings heph reads and writes, in order of preference. */
export const CODINGS: readonly Coding[] = ['br', 'gzip'];

/** The Accept-Encoding a heph client sends, and the hub advertises for request bodies. */
export const ACCEPT_ENCODING = CODINGS.join(', ');

/** Bodies shorter than this go out as they are: a coding would save little and cost a pass. */
export const MIN_ENCODED_BYTES = 1024;

/**
 * brotli quality 4: on sync pages about as fast as gzip's default level and a quarter smaller
 * (quality 11, brotli's default, is a hundred times slower).
 */
const BROTLI_QUALITY = 4;
const GZIP_LEVEL = 6;

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);
const unbrotli = promisify(zlib.brotliDecompress);
const gunzip = promisify(zlib.gunzip);

/**
 * The coding to use towards a peer that sent this Accept-Encoding (RFC 9110 §12.5.3): the one
 * with the highest q-value, heph's preference breaking ties; undefined for none (identity).
 */
export function negotiate(accept: string | readonly string[] | undefined): Coding | undefined {
  if (accept === undefined) return undefined;
  const text = typeof accept === 'string' ? accept : accept.join(',');
  const q = new Map<string, number>();
  for (const part of text.split(',')) {
    const [name, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^q=([01](?:\.\d{0,3})?)$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(name === 'x-gzip' ? 'gzip' : name, weight);
  }
  let best: Coding | undefined;
  let bestQ = 0;
  for (const c of CODINGS) {
    const w = q.get(c) ?? q.get('*') ?? 0;
    if (w > bestQ) {
      best = c;
      bestQ = w;
    }
  }
  return best;
}

/**
 * A Content-Encoding header as one of heph's codings: undefined for none or `identity`; throws
 * for anything else (an unknown coding, or several stacked), so the body is never misread.
 */
export function parseContentEncoding(
  header: string | readonly string[] | undefined,
): Coding | undefined {
  if (header === undefined) return undefined;
  const text = (typeof header === 'string' ? header : header.join(',')).trim().toLowerCase();
  if (text === '' || text === 'identity') return undefined;
  if (text === 'gzip' || text === 'x-gzip') return 'gzip';
  if (text === 'br') return 'br';
  throw new HephError(
    'invalid_params',
    `Content-Encoding ${JSON.stringify(text.slice(0, 40))} is not one heph reads ` +
      `(it reads ${CODINGS.join(' and ')}, or no coding)`,
    { field: 'content-encoding', accepted: [...CODINGS] },
  );
}

/** `body` in `coding`. */
export function encode(body: string | Buffer, coding: Coding): Promise<Buffer> {
  if (coding === 'gzip') return gzip(body, { level: GZIP_LEVEL });
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  return brotli(body, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
    },
  });
}

function tooLarge(what: string, coding: Coding, limit: number): HephError {
  return new HephError(
    'too_large',
    `${what} decodes to more than ${limit} bytes (Content-Encoding ${coding}); the limit applies ` +
      'to the decoded size',
    { limit, field: 'body' },
  );
}

function corrupt(what: string, coding: Coding, e: unknown): HephError {
  const reason = e instanceof Error ? e.message : String(e);
  return new HephError(
    'invalid_params',
    `${what} is not valid ${coding} (it says Content-Encoding ${coding}): ${reason}`,
    { field: 'body' },
  );
}

function isOutputTooLarge(e: unknown): boolean {
  return (e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
}

/** Decodes a whole body in `coding`, at most `limit` bytes of it (`what` names it in errors). */
export async function decode(
  body: Buffer,
  coding: Coding,
  limit: number,
  what: string,
): Promise<Buffer> {
  try {
    const opts = { maxOutputLength: Math.max(1, limit) };
    return coding === 'gzip' ? await gunzip(body, opts) : await unbrotli(body, opts);
  } catch (e) {
    throw isOutputTooLarge(e) ? tooLarge(what, coding, limit) : corrupt(what, coding, e);
  }
}

/** A decoded body stream, with the encoded bytes read so far (fastify checks Content-Length). */
export interface DecodedStream extends Readable {
  receivedEncodedLength: number;
}

/**
 * Decodes a request stream as it arrives, failing with `too_large` once either the encoded or
 * the decoded bytes pass `limit`, and with `invalid_params` when the body is not valid in its
 * coding. On failure the source is left unread (not destroyed), so a reply can still be sent.
 */
export function decodingStream(source: Readable, coding: Coding, limit: number): DecodedStream {
  const what = 'request body';
  const decoder = coding === 'gzip' ? zlib.createGunzip() : zlib.createBrotliDecompress();
  let decoded = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      decoded += chunk.length;
      if (decoded > limit) done(tooLarge(what, coding, limit));
      else done(null, chunk);
    },
  }) as Transform & DecodedStream;
  out.receivedEncodedLength = 0;
  const fail = (e: HephError): void => {
    source.unpipe(decoder);
    decoder.destroy();
    out.destroy(e);
  };
  source.on('data', (chunk: Buffer) => {
    out.receivedEncodedLength += chunk.length;
    if (out.receivedEncodedLength > limit) {
      fail(
        new HephError('too_large', `request body is larger than ${limit} bytes`, {
          limit,
          field: 'body',
        }),
      );
    }
  });
  decoder.on('error', (e: Error) => fail(corrupt(what, coding, e)));
  out.on('error', () => {
    source.unpipe(decoder);
    decoder.destroy();
  });
  source.pipe(decoder).pipe(out);
  return out;
}
