// vitest globalSetup: one private PostgreSQL cluster for the whole test run (see
// helpers/postgres.ts); test files reach it with inject('pg') and make their own databases.

import type { TestProject } from 'vitest/node';
import { startPgCluster, type PgClusterInfo } from './helpers/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pg: PgClusterInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startPgCluster();
  project.provide('pg', { socketDir: cluster.socketDir, port: cluster.port });
  return () => cluster.stop();
}
