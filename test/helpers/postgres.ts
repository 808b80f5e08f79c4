// A private PostgreSQL cluster for tests and benchmarks: Debian's postgresql server binaries,
// initdb in a temp dir (as the `postgres` user when running as root), listening on a unix socket
// in that dir only, with fsync off (tests only: a crash of the machine may lose the cluster,
// never anything else). Each test file makes its own databases, each owned by a role of its own
// that is neither a superuser nor BYPASSRLS, as an operator would. Where the binaries are
// missing, startPgCluster fails naming the package to install.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PgClusterInfo {
  /** The directory holding the server's socket. */
  socketDir: string;
  port: number;
}

export interface PgCluster extends PgClusterInfo {
  stop(): Promise<void>;
}

export interface TestDatabase {
  /** The hub's URL: its own role (not a superuser, no BYPASSRLS) and database. */
  url: string;
  /** The same database as the superuser (for what the test checks behind the hub's back). */
  adminUrl: string;
  name: string;
  role: string;
}

const PACKAGE_HINT =
  "PostgreSQL's server binaries (initdb, postgres) were not found: install Debian's postgresql " +
  'package (apt-get install postgresql), or set HEPH_PG_BINDIR to the folder holding them';

/** The folder with initdb and postgres: HEPH_PG_BINDIR, else the newest Debian install (14+). */
export function pgBinDir(): string {
  const given = process.env.HEPH_PG_BINDIR;
  if (given !== undefined && given !== '') {
    if (existsSync(join(given, 'initdb'))) return given;
    throw new Error(`HEPH_PG_BINDIR=${given} holds no initdb. ${PACKAGE_HINT}`);
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && Number(v) >= 14)
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const dir = join(root, v, 'bin');
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  throw new Error(PACKAGE_HINT);
}

function runAs(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const line = execFileSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).trim();
  const [, , uid, gid] = line.split(':');
  if (uid === undefined || gid === undefined) {
    throw new Error(
      `running as root, but there is no postgres user to run the server as. ${PACKAGE_HINT}`,
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

async function waitReady(
  info: PgClusterInfo,
  server: ChildProcess,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) {
      throw new Error(`postgres exited with ${server.exitCode}: ${log()}`);
    }
    const c = new pg.Client({
      host: info.socketDir,
      port: info.port,
      user: 'postgres',
      database: 'postgres',
    });
    try {
      await c.connect();
      await c.end();
      return;
    } catch (e) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not start: ${String(e)}: ${log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Starts a private cluster; stop() ends it and removes its directory. */
export async function startPgCluster(): Promise<PgCluster> {
  const bin = pgBinDir();
  const as = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'heph-pg-'));
  if (as !== undefined) chownSync(dir, as.uid, as.gid);
  const data = join(dir, 'data');
  const port = 5432;
  const opts = { cwd: dir, ...(as !== undefined && { uid: as.uid, gid: as.gid }) };
  try {
    execFileSync(
      join(bin, 'initdb'),
      ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
      { ...opts, stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String((e as { stderr?: unknown }).stderr ?? e)}`);
  }
  let output = '';
  const server = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-k',
      dir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=',
      '-c',
      'fsync=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
      '-c',
      'shared_buffers=32MB',
    ],
    { ...opts, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (b: Buffer): void => {
    output = (output + b.toString()).slice(-4000);
  };
  server.stdout?.on('data', keep);
  server.stderr?.on('data', keep);
  const info = { socketDir: dir, port };
  const exited = new Promise<void>((r) => server.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGQUIT'); // immediate shutdown: nothing here needs to survive
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(info, server, () => output);
  } catch (e) {
    await stop();
    throw e;
  }
  return { ...info, stop };
}

function url(info: PgClusterInfo, user: string, db: string): string {
  return `postgres://${user}@localhost/${db}?host=${encodeURIComponent(info.socketDir)}&port=${info.port}`;
}

/** The cluster as its superuser. */
export function adminUrl(info: PgClusterInfo, db = 'postgres'): string {
  return url(info, 'postgres', db);
}

let made = 0;

/** A fresh database owned by a fresh role, as README's two statements make them. */
export async function createTestDatabase(info: PgClusterInfo, prefix = 't'): Promise<TestDatabase> {
  const tag = `${prefix}_${process.pid}_${++made}_${Date.now().toString(36)}`.toLowerCase();
  const role = `heph_${tag}`;
  const name = `db_${tag}`;
  const c = new pg.Client({ connectionString: adminUrl(info) });
  await c.connect();
  try {
    await c.query(`CREATE ROLE ${role} LOGIN`);
    await c.query(`CREATE DATABASE ${name} OWNER ${role}`);
  } finally {
    await c.end();
  }
  return { url: url(info, role, name), adminUrl: adminUrl(info, name), name, role };
}

/** Runs one statement on `connection` and returns its rows. */
export async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(
  connection: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: connection });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}
