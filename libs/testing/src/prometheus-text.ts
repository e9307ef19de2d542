/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests that
 * scrape `GET /metrics`: anything it does not understand is an error, so a test using it also
 * proves the endpoint speaks the format.
 */

export type PrometheusType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PrometheusSample {
  /** The sample's own name: `x_bucket`, `x_sum` and `x_count` for a histogram `x`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PrometheusFamily {
  readonly name: string;
  readonly type: PrometheusType;
  readonly help: string;
  readonly samples: readonly PrometheusSample[];
}

const TYPES = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Sample names that belong to the family `base` of each type. */
const SUFFIXES: Record<PrometheusType, readonly string[]> = {
  counter: ['', '_total', '_created'],
  gauge: [''],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  summary: ['', '_sum', '_count', '_created'],
  untyped: [''],
};

interface MutableFamily {
  name: string;
  type: PrometheusType;
  help: string;
  samples: PrometheusSample[];
}

/** Families by name. Throws, naming the line, on anything malformed. */
export function parsePrometheusText(text: string): Map<string, PrometheusFamily> {
  const families = new Map<string, MutableFamily>();
  const family = (name: string): MutableFamily => {
    let found = families.get(name);
    if (!found) {
      found = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, found);
    }
    return found;
  };
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const fail = (why: string): never => {
      throw new Error(`line ${index + 1} of the exposition: ${why}: ${raw}`);
    };
    if (line === '') return;
    if (line.startsWith('#')) {
      const match = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!match) return; // a plain comment
      const [, keyword, name, rest = ''] = match;
      if (!NAME.test(name!)) fail('bad metric name');
      if (keyword === 'HELP') {
        family(name!).help = unescapeHelp(rest);
      } else {
        if (!TYPES.has(rest)) fail(`unknown type "${rest}"`);
        const target = family(name!);
        if (target.samples.length > 0) fail('TYPE after the samples of its metric');
        target.type = rest as PrometheusType;
      }
      return;
    }
    const sample = parseSample(line, fail);
    familyOf(families, sample.name, family).samples.push(sample);
  });
  return families as Map<string, PrometheusFamily>;
}

/**
 * The value of the one sample named `name` whose labels include `labels`; the sum when several
 * match (a counter asked for without one of its labels); undefined when none does.
 */
export function sampleValue(
  families: ReadonlyMap<string, PrometheusFamily>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  let total: number | undefined;
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      if (!Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) continue;
      total = (total ?? 0) + sample.value;
    }
  }
  return total;
}

function familyOf(
  families: ReadonlyMap<string, MutableFamily>,
  sampleName: string,
  family: (name: string) => MutableFamily,
): MutableFamily {
  for (const candidate of families.values()) {
    const suffixes = SUFFIXES[candidate.type];
    if (suffixes.some((suffix) => candidate.name + suffix === sampleName)) return candidate;
  }
  return family(sampleName);
}

function parseSample(line: string, fail: (why: string) => never): PrometheusSample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) return fail('a sample must start with a metric name');
  const name = nameMatch[0];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    let i = 1;
    for (;;) {
      while (rest[i] === ' ') i += 1;
      if (rest[i] === '}') break;
      const labelMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(rest.slice(i));
      if (!labelMatch || !LABEL_NAME.test(labelMatch[0])) return fail('bad label name');
      const label = labelMatch[0];
      i += label.length;
      if (rest[i] !== '=' || rest[i + 1] !== '"') return fail(`label ${label} has no quoted value`);
      i += 2;
      let value = '';
      for (;;) {
        const c = rest[i];
        if (c === undefined) return fail(`label ${label}: unterminated value`);
        i += 1;
        if (c === '"') break;
        if (c === '\\') {
          const escaped = rest[i];
          i += 1;
          if (escaped === 'n') value += '\n';
          else if (escaped === '\\' || escaped === '"') value += escaped;
          else return fail(`label ${label}: bad escape`);
        } else {
          value += c;
        }
      }
      if (label in labels) fail(`label ${label} appears twice`);
      labels[label] = value;
      while (rest[i] === ' ') i += 1;
      if (rest[i] === ',') i += 1;
      else if (rest[i] !== '}') return fail('labels must be separated by commas');
    }
    rest = rest.slice(i + 1);
  }
  const parts = rest.trim().split(/\s+/);
  if (parts.length < 1 || parts.length > 2 || parts[0] === '') return fail('a sample needs a value (and at most a timestamp)');
  const value = parseValue(parts[0]!);
  if (value === null) return fail(`not a sample value: ${parts[0]}`);
  if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) fail(`not a timestamp: ${parts[1]}`);
  return { name, labels, value };
}

/** As Prometheus reads them (Go's ParseFloat): Inf, Infinity and NaN in any case; prom-client writes `Nan`. */
function parseValue(text: string): number | null {
  const special = /^([-+]?)(inf|infinity)$/i.exec(text);
  if (special) return special[1] === '-' ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return null;
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}
