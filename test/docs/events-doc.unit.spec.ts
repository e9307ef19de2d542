import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as contracts from '@reach/contracts';
import * as messaging from '@reach/messaging';
import { eventDocsFile, renderEventDocs } from '../../scripts/event-docs.cjs';

/**
 * docs/events.md is generated from the contracts. Rendered here from the libs' sources (the
 * generator uses their build), so a contract change without a regenerated document fails.
 */
const root = join(__dirname, '..', '..');
const regenerate = 'run `npm run docs:events` and commit docs/events.md';

describe('docs/events.md', () => {
  const rendered = renderEventDocs({ contracts, messaging });

  it('is up to date with libs/contracts and libs/messaging', () => {
    const committed = readFileSync(join(root, eventDocsFile), 'utf8');
    if (committed === rendered) return;
    const committedLines = committed.split('\n');
    const renderedLines = rendered.split('\n');
    const line = renderedLines.findIndex((text, index) => text !== committedLines[index]);
    const at = line === -1 ? committedLines.length : line;
    throw new Error(
      `${eventDocsFile} is out of date: ${regenerate}.\n` +
        `First difference at line ${at + 1}:\n  committed: ${committedLines[at] ?? '(end of file)'}\n  expected:  ${renderedLines[at] ?? '(end of file)'}`,
    );
  });

  it('documents every event type with its subject and a description', () => {
    const names = contracts.natsNames('reach');
    for (const type of contracts.messageEventTypes) {
      expect(rendered).toContain(`### ${type}\n`);
      expect(rendered).toContain(`\`${names.eventSubject(type)}\``);
    }
    for (const schema of contracts.MessageEvent.options) {
      expect(schema.description).toEqual(expect.any(String));
    }
  });

  it('is deterministic', () => {
    expect(renderEventDocs({ contracts, messaging })).toBe(rendered);
  });
});
