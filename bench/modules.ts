// The benchmark modules, run in this order. Floors come first: later modules compare with them.
// To add a module, write bench/<name>.ts exporting a BenchModule and append it here.

import { body } from './body.js';
import { cli } from './cli.js';
import { daemon } from './daemon.js';
import { engine } from './engine.js';
import { floors } from './floors.js';
import { history } from './history.js';
import { model } from './model.js';
import { peersFields } from './peers-fields.js';
import { postgres } from './postgres.js';
import { spoke } from './spoke.js';
import { sync } from './sync.js';
import type { BenchModule } from './types.js';

export const modules: readonly BenchModule[] = [
  floors,
  engine,
  model,
  history,
  body,
  daemon,
  cli,
  sync,
  spoke,
  postgres,
  peersFields,
];
