// Newline-delimited framing. Guarantees: a frame is the bytes before a '\n' (a trailing '\r' is
// dropped), decoded as strict UTF-8 only once complete, so a multibyte character split across
// chunks is never mangled ('\n' is 0x0A, which never occurs inside a UTF-8 sequence); at most
// maxFrameBytes + 1 bytes are ever buffered — a longer line is reported as 'oversize' as soon as
// it crosses the limit and its remaining bytes are discarded up to the next '\n'; blank lines
// are skipped; a partial line at end of stream is never emitted as a frame.

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
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

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
    let bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, -1);
    if (bytes.length > this.maxFrameBytes) {
      frames.push({ kind: 'oversize', limit: this.maxFrameBytes });
      return;
    }
    if (bytes.length === 0) return;
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      frames.push({ kind: 'invalid_utf8' });
      return;
    }
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
