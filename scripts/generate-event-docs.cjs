#!/usr/bin/env node
'use strict';
/**
 * Writes docs/events.md from the built libs (run `npm run docs:events`, which builds first).
 * `--check` writes nothing and exits 1 when the committed file differs from a fresh rendering.
 */
const fs = require('node:fs');
const path = require('node:path');
const { renderEventDocs, eventDocsFile } = require('./event-docs.cjs');

const root = path.resolve(__dirname, '..');

function main(argv) {
  const check = argv.includes('--check');
  const contracts = require(path.join(root, 'libs/contracts/dist'));
  const messaging = require(path.join(root, 'libs/messaging/dist'));
  const rendered = renderEventDocs({ contracts, messaging });
  const target = path.join(root, eventDocsFile);
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : null;
  if (check) {
    if (current === rendered) return 0;
    process.stderr.write(`${eventDocsFile} is out of date: run \`npm run docs:events\` and commit the result\n`);
    return 1;
  }
  if (current === rendered) {
    process.stdout.write(`${eventDocsFile} is up to date\n`);
    return 0;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, rendered);
  process.stdout.write(`wrote ${eventDocsFile}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
