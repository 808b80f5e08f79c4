#!/usr/bin/env -S node --max-semi-space-size=4
// The flags above are HEPHD_NODE_FLAGS (src/config/node-flags.ts); a test keeps them equal.
import { main } from '../dist/src/daemon/main.js';

process.exitCode = await main(process.argv.slice(2), process.env);
