// Newline-delimited framing. Guarantees: a frame is the bytes before a '\n' (a trailing '\r' is
// dropped), decoded as strict UTF-8 only once complete, so a multibyte character split across
// chunks is never mangled ('\n' is 0x0A, which never occurs inside a UTF-8 sequence); at most
// maxFrameBytes + 1 bytes are ever buffered — a longer line is reported as 'oversize' as soon as
// it crosses the limit and its remaining bytes are discarded up to the next '\n'; blank lines
// are skipped; a partial line at end of stream is never emitted as a frame.

import { isUtf8 } from 'node:buffer';

export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

export type Frame =
  | { readonly kind: 'line'; readonly text: string }
  /** The line is not valid UTF-8; it is reported rather than decoded with replacement chars. */
  | { readonly kind: 'invalid_utf8' }
  /** The line exceeded maxFrameBytes; reported once per line, the moment it crossed the limit. */
  | { readonly kind: 'oversize'; readonly limit: number };

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  readonly maxFrameBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;

  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1) {
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Feeds one chunk and returns the frames it completed, in order. */
  push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) {
        this.accumulate(chunk.subarray(start), frames);
        break;
      }
      if (this.discarding) {
        this.discarding = false;
      } else if (this.pendingBytes === 0) {
        // The whole line is in this chunk: decoded from it, without a copy.
        if (nl - start > this.maxFrameBytes + 1) {
          frames.push({ kind: 'oversize', limit: this.maxFrameBytes });
        } else {
          this.emitBytes(chunk.subarray(start, nl), frames);
        }
      } else {
        this.accumulate(chunk.subarray(start, nl), frames);
        if (!this.discarding) this.emit(frames);
        this.discarding = false;
      }
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    return frames;
  }

  /** Bytes of an unfinished line held at the moment (for logging a half line at close). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  private accumulate(part: Uint8Array, frames: Frame[]): void {
    if (this.discarding || part.length === 0) return;
    const total = this.pendingBytes + part.length;
    // One extra byte is allowed so that a line of exactly maxFrameBytes followed by "\r\n"
    // split between chunks is not misreported; emit() re-checks the exact length.
    if (total > this.maxFrameBytes + 1) {
      this.pending = [];
      this.pendingBytes = 0;
      this.discarding = true;
      frames.push({ kind: 'oversize', limit: this.maxFrameBytes });
      return;
    }
    // Copy: the caller may reuse the chunk's memory after push() returns.
    this.pending.push(Buffer.from(part));
    this.pendingBytes = total;
  }

  private emit(frames: Frame[]): void {
    this.emitBytes(
      this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending),
      frames,
    );
  }

  private emitBytes(line: Uint8Array, frames: Frame[]): void {
    let bytes = line;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, -1);
    if (bytes.length > this.maxFrameBytes) {
      frames.push({ kind: 'oversize', limit: this.maxFrameBytes });
      return;
    }
    if (bytes.length === 0) return;
    // isUtf8 is the same strict check as a fatal TextDecoder (no overlongs, surrogates or
    // code points past U+10FFFF) and, with toString, a third of its cost on a 500-byte line;
    // neither strips a BOM.
    if (!isUtf8(bytes)) {
      frames.push({ kind: 'invalid_utf8' });
      return;
    }
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
    if (text.trim() === '') return;
    frames.push({ kind: 'line', text });
  }
}

/** Serializes one message as a frame. Throws TypeError when the value is not serializable. */
export function encodeFrame(message: unknown): string {
  const text = JSON.stringify(message);
  if (typeof text !== 'string') throw new TypeError('message is not JSON-serializable');
  return text + '\n';
}
