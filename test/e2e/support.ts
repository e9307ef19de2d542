import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

/** The platform started by global-setup.ts, reached only over HTTP and through reachctl. */
export const platform = {
  gatewayUrl: process.env['E2E_GATEWAY_URL'] ?? 'http://127.0.0.1:4300',
  databaseUrl: process.env['E2E_DATABASE_URL'] ?? '',
  env: {
    ...process.env,
    DATABASE_URL: process.env['E2E_DATABASE_URL'] ?? '',
    NATS_URL: process.env['E2E_NATS_URL'] ?? '',
    REACH_NAMESPACE: process.env['E2E_NAMESPACE'] ?? '',
    REACH_API_KEY_SECRET: process.env['E2E_API_KEY_SECRET'] ?? '',
  },
};

/** Runs the real admin CLI against the e2e platform and parses its JSON output. */
export async function reachctl<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, [path.join(root, 'tools/reachctl/bin/reachctl.js'), ...args], {
    env: platform.env,
    cwd: root,
  });
  const text = stdout.trim();
  return (text.startsWith('{') ? JSON.parse(text) : { output: text }) as T;
}

export interface TestAccount {
  accountId: string;
  apiKey: string;
  apiUser: string;
  number: string;
}

/** A fresh account with one provisioned number on the simulated channel. */
export async function newAccountWithNumber(options: { allowance?: number; overagePrice?: number } = {}): Promise<TestAccount> {
  const extra: string[] = [];
  if (options.allowance !== undefined) extra.push('--allowance', String(options.allowance));
  if (options.overagePrice !== undefined) extra.push('--overage-price', String(options.overagePrice));
  const account = await reachctl<{ accountId: string; apiKey: string; apiUser: string }>(
    'account', 'create', '--name', `e2e ${Date.now()}`, ...extra, '--json',
  );
  return { ...account, number: await provisionFreshNumber(account.accountId) };
}

/**
 * Provisions a random number to the account. Suites run in parallel workers that share one
 * database, so two of them can draw the same number; the loser simply draws again.
 */
async function provisionFreshNumber(accountId: string): Promise<string> {
  for (let attempt = 1; ; attempt += 1) {
    const number = freshNumber();
    try {
      await reachctl('number', 'add', '--account', accountId, '--number', number, '--json');
      return number;
    } catch (error) {
      if (attempt >= 5 || !String((error as Error).message).includes('NUMBER_TAKEN')) throw error;
    }
  }
}

/**
 * A random valid US number, +1 415 NXX XXXX. The 555 exchange is left out: the suites use fixed
 * numbers there as counterparts, and a fresh number must never be one of them.
 */
export function freshNumber(): string {
  let exchange = randomInt(200, 1000);
  if (exchange === 555) exchange = 556;
  return `+1415${exchange}${String(randomInt(0, 10_000)).padStart(4, '0')}`;
}

/** A message as the ReachCell API returns it. */
export interface ReachCellMessageJson {
  message_id: string;
  from: string;
  to: string;
  body: string | null;
  direction: 'outbound' | 'inbound';
  segment_count: number;
  status: string;
  failure_reason: string | null;
  sent_at: string | null;
  delivered_at: string | null;
  cost_usd: number | null;
  created_at: string;
}

export interface ErrorJson {
  code: string;
  message: string;
  details?: unknown;
}

export interface MessageBody {
  success: boolean;
  data: ReachCellMessageJson;
  error: ErrorJson;
}

export interface ListBody {
  success: boolean;
  data: ReachCellMessageJson[];
  meta: { total: number; page: number; per_page: number; total_pages: number };
  error: ErrorJson;
}

export interface HttpResult<T> {
  status: number;
  body: T;
  headers: Headers;
}

export async function http<T = MessageBody>(
  method: string,
  pathAndQuery: string,
  options: { key?: string; json?: unknown; rawBody?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers['authorization'] = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  } else if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(`${platform.gatewayUrl}${pathAndQuery}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T, headers: response.headers };
}

export function send(account: TestAccount, to: string, body: string, from = account.number) {
  return http('POST', '/v1/sms/send', { key: account.apiKey, json: { from, to, body } });
}

/** Polls GET /v1/sms/{id} until `predicate` holds. */
export async function waitForMessage(
  account: TestAccount,
  messageId: string,
  predicate: (data: ReachCellMessageJson) => boolean,
  timeoutMs = 15_000,
): Promise<ReachCellMessageJson> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const result = await http('GET', `/v1/sms/${messageId}`, { key: account.apiKey });
    last = result.body;
    if (result.status === 200 && predicate(result.body.data)) return result.body.data;
    if (Date.now() > deadline) throw new Error(`message ${messageId} did not reach the expected state; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Read-only look at the platform's event log, for assertions about order and absence. */
export async function withDatabase<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: platform.databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export const TO = '+14155553000';
