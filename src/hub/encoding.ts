// Content codings on the hub's routes (transport/http-encoding.ts does the coding). Guarantees:
// every reply carries `Accept-Encoding: br, gzip`, saying which request codings this hub reads
// (RFC 7694), so a device compresses its bodies only towards a hub that said so; a request body
// in gzip or br is decoded before it is parsed, and the body limit applies to its decoded size
// (413 with a message saying so); a body in any other coding is refused with 415 before it is
// read, a body that is not valid in its coding with 400, and nothing of either is stored; a reply
// of at least MIN_ENCODED_BYTES is encoded in the coding its client prefers among those it
// listed, and sent as it is to a client that listed none.

import type { FastifyInstance } from 'fastify';
import { HephError } from '../core/errors.js';
import {
  ACCEPT_ENCODING,
  decodingStream,
  encode,
  MIN_ENCODED_BYTES,
  negotiate,
  parseContentEncoding,
} from '../transport/http-encoding.js';
import { HttpStatusError } from './http-errors.js';

export function contentCodings(app: FastifyInstance, bodyLimit: number): void {
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.header('accept-encoding', ACCEPT_ENCODING);
    done();
  });

  app.addHook('preParsing', (request, _reply, payload, done) => {
    const header = request.headers['content-encoding'];
    if (header === undefined) {
      done(null, payload);
      return;
    }
    let coding;
    try {
      coding = parseContentEncoding(header);
    } catch (e) {
      done(e instanceof HephError ? new HttpStatusError(415, e) : (e as Error));
      return;
    }
    done(null, coding === undefined ? payload : decodingStream(payload, coding, bodyLimit));
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    if (reply.hasHeader('content-encoding')) return payload;
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (size < MIN_ENCODED_BYTES) return payload;
    void reply.header('vary', 'accept-encoding');
    const coding = negotiate(request.headers['accept-encoding']);
    if (coding === undefined) return payload;
    const body = await encode(payload, coding);
    void reply.header('content-encoding', coding);
    return body;
  });
}
