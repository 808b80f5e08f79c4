// Node's system errors carry their errno name in `code` (ENOENT, ECONNREFUSED, …). A file of its
// own so the socket client can test for them without loading the server side's filesystem code.

export function isErrno(e: unknown, code: string): boolean {
  return e instanceof Error && (e as NodeJS.ErrnoException).code === code;
}
