#!/usr/bin/env node
'use strict';
// Committed shim: the CLI itself is compiled TypeScript in ../dist.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(`reachctl is not built: run npm run build (looked for ${entry})\n`);
  process.exit(1);
}

let cli;
try {
  cli = require(entry);
} catch (error) {
  // A workspace library that is missing or unbuilt: say what to run rather than print a stack.
  if (error && error.code === 'MODULE_NOT_FOUND' && /'@reach\//.test(error.message)) {
    const missing = /'(@reach\/[^']+)'/.exec(error.message)[1];
    process.stderr.write(`reachctl cannot load ${missing}: run npm install, then npm run build\n`);
    process.exit(1);
  }
  throw error;
}

cli.main(process.argv).then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error) => {
    process.stderr.write(`reachctl: ${error && error.stack ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
