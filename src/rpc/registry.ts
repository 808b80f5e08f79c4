// RPC methods as data. Guarantees: method names are unique `namespace.verb` (or a bare verb
// such as `next`), the `rpc.` prefix is reserved for the built-ins, top-level param names are
// snake_case, and params reach a handler only after its zod schema accepted them — a rejection
// is an invalid_params HephError naming the first offending field as a dotted path. Every method
// declares the role it needs and the surfaces it is served on (both required by the type, and
// checked again here, so a method without them cannot be registered); dispatch.ts enforces them.

import { z } from 'zod';
import { isRole, ROLES, type Principal, type Role } from '../auth/principal.js';
import { HephError, invalid } from '../core/errors.js';
import { isPlainObject } from '../core/json.js';

/** Where a method is served: the daemon's or hub's unix socket, or the hub's `POST /rpc`. */
export const SURFACES = ['socket', 'http'] as const;
export type Surface = (typeof SURFACES)[number];

/** Served on the socket and on /rpc: the usual case. */
export const EVERYWHERE: readonly Surface[] = ['socket', 'http'];
/** Methods that read or write files of the machine that runs hephd: never over HTTP. */
export const SOCKET_ONLY: readonly Surface[] = ['socket'];
/** Hub administration: served on the hub's /rpc only. */
export const HUB_ONLY: readonly Surface[] = ['http'];

/** Per-connection things a handler may use. Daemon-wide dependencies (store, clock) belong in
 *  the closure that builds a namespace's methods, not here. */
export interface RpcContext {
  /** Stable for the life of one connection; useful in logs and for subscriptions. */
  readonly connectionId: string;
  /** Sends a JSON-RPC notification to this connection's peer. Returns false when the
   *  connection is gone or too far behind to take more. */
  notify(method: string, params?: Record<string, unknown> | readonly unknown[]): boolean;
  /** Aborted when the connection closes: end subscriptions and long waits with it. */
  readonly signal: AbortSignal;
  /** Who is calling (auth/principal.ts): dispatch checks it against each method's role. */
  readonly principal: Principal;
  /** Where the call arrived: dispatch refuses a method not served there. */
  readonly surface: Surface;
}

export interface MethodDef<S extends z.ZodType = z.ZodType, C extends RpcContext = RpcContext> {
  readonly name: string;
  /** One line for `rpc.methods` and generated docs. */
  readonly summary: string;
  /** The least role that may call it: reading is `viewer`, anything that writes (creating
   *  included) `editor`, administration `admin`. */
  readonly role: Role;
  /** Where it is served. */
  readonly surfaces: readonly Surface[];
  readonly params: S;
  /** The result's shape (src/rpc/methods/results.ts), published as JSON Schema; never parsed at
   *  run time, checked against every answer in the method tests. */
  readonly result: z.ZodType;
  // Method syntax (not a function-typed property) on purpose: it makes a MethodDef<Specific>
  // assignable to MethodDef<ZodType> so namespaces with different schemas share one list.
  handler(params: z.output<S>, ctx: C): unknown;
}

export function defineMethod<S extends z.ZodType, C extends RpcContext = RpcContext>(
  def: MethodDef<S, C>,
): MethodDef<S, C> {
  return def;
}

export interface MethodDescription {
  name: string;
  summary: string;
  role: Role;
  surfaces: Surface[];
  params: Record<string, unknown>;
  result: Record<string, unknown>;
}

const NAME_RE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
const PARAM_RE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

// `in`: a registry consumes contexts, so one built for RpcContext serves any richer context, but
// one whose handlers need a richer context cannot be given a bare RpcContext.
export class Registry<in C extends RpcContext = RpcContext> {
  private readonly methods = new Map<string, MethodDef<z.ZodType, C>>();
  private described: MethodDescription[] | undefined;

  constructor(namespaces: readonly (readonly MethodDef<z.ZodType, C>[])[]) {
    for (const m of builtins(this)) this.methods.set(m.name, m);
    for (const ns of namespaces) {
      for (const m of ns) {
        if (!NAME_RE.test(m.name)) throw new TypeError(`bad RPC method name: ${m.name}`);
        if (m.name.startsWith('rpc.')) throw new TypeError(`${m.name}: rpc.* is reserved`);
        if (this.methods.has(m.name)) throw new TypeError(`duplicate RPC method: ${m.name}`);
        checkAccess(m);
        if (m.params instanceof z.ZodObject) {
          for (const key of Object.keys(m.params.shape)) {
            if (!PARAM_RE.test(key))
              throw new TypeError(`${m.name}: param ${key} is not snake_case`);
          }
        }
        this.methods.set(m.name, m);
      }
    }
  }

  get(name: string): MethodDef<z.ZodType, C> | undefined {
    return this.methods.get(name);
  }

  names(): string[] {
    return [...this.methods.keys()].sort();
  }

  /** Every method with its params (input side) and result as JSON Schema, sorted by name. */
  describe(): MethodDescription[] {
    this.described ??= this.names().map((name) => {
      const m = this.methods.get(name)!;
      return {
        name,
        summary: m.summary,
        role: m.role,
        surfaces: SURFACES.filter((s) => m.surfaces.includes(s)),
        params: z.toJSONSchema(m.params, { io: 'input', unrepresentable: 'any' }),
        result: z.toJSONSchema(m.result, { io: 'output', unrepresentable: 'any' }),
      };
    });
    return this.described;
  }
}

/** The declarations the type requires, checked for callers that got around it (a cast, JS). */
function checkAccess(m: { name: string; role?: unknown; surfaces?: unknown }): void {
  if (!isRole(m.role)) {
    throw new TypeError(`${m.name}: declares no role (one of ${ROLES.join(', ')})`);
  }
  const surfaces: readonly unknown[] = Array.isArray(m.surfaces) ? m.surfaces : [];
  if (
    surfaces.length === 0 ||
    new Set(surfaces).size !== surfaces.length ||
    !surfaces.every((s) => (SURFACES as readonly unknown[]).includes(s))
  ) {
    throw new TypeError(`${m.name}: surfaces must be some of ${SURFACES.join(', ')}, each once`);
  }
}

/** Runs zod on raw params; throws invalid_params naming the first bad field. */
export function parseParams<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  if (raw !== undefined && !isPlainObject(raw)) {
    throw new HephError('invalid_params', 'params must be an object of named parameters', {
      field: 'params',
    });
  }
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (issue === undefined) throw invalid('params', 'rejected');
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) {
    path.push(issue.keys[0]);
    throw invalid(path.join('.'), 'unknown parameter');
  }
  throw invalid(path.length > 0 ? path.join('.') : 'params', issue.message);
}

function builtins<C extends RpcContext>(reg: Registry<C>): MethodDef<z.ZodType, C>[] {
  return [
    defineMethod({
      name: 'rpc.methods',
      summary:
        'List every method with its summary, the role it needs, where it is served, and its ' +
        'params and result as JSON Schema.',
      role: 'viewer',
      surfaces: EVERYWHERE,
      params: z.strictObject({}),
      result: z.strictObject({
        methods: z.array(
          z.strictObject({
            name: z.string(),
            summary: z.string(),
            role: z.enum(ROLES).describe('the least role that may call it'),
            surfaces: z
              .array(z.enum(SURFACES))
              .describe(
                'where it is served: "socket" (unix socket), "http" (the hub\'s POST /rpc)',
              ),
            params: z.record(z.string(), z.unknown()).describe('JSON Schema'),
            result: z.record(z.string(), z.unknown()).describe('JSON Schema'),
          }),
        ),
      }),
      handler: () => ({ methods: reg.describe() }),
    }),
  ];
}
