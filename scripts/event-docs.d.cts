/** Types of scripts/event-docs.cjs, for the TypeScript test that compares docs/events.md with a fresh rendering. */
export interface EventDocsSources {
  /** The `@reach/contracts` module. */
  readonly contracts: typeof import('@reach/contracts');
  /** The `@reach/messaging` module. */
  readonly messaging: typeof import('@reach/messaging');
}

/** The whole of docs/events.md. Pure: no clock, no I/O. */
export function renderEventDocs(sources: EventDocsSources): string;

/** Where the document lives, relative to the repository root. */
export const eventDocsFile: string;
