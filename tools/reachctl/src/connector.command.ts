import {
  addConnector,
  listConnectors,
  requireAccount,
  routeNumberToConnector,
  routeSenderToConnector,
  setConnectorEnabled,
  unrouteSender,
  type NewConnector,
  type SmppConnectorSummary,
} from '@reach/accounts';
import type { Db } from '@reach/database';
import { PhonePresenceStore } from '@reach/messaging';
import type { Command } from 'commander';
import type { CliContext } from './cli-context';
import { CliError } from './cli-errors';
import { parseWholeNumber } from './cli-options';
import { report } from './cli-output';

/** A connector as reachctl prints it: never the password. */
export interface ConnectorResult {
  readonly connectorId: string;
  /** Null: platform-wide. */
  readonly accountId: string | null;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly systemId: string;
  readonly systemType: string;
  readonly bindMode: string;
  readonly source: { readonly ton: number; readonly npi: number };
  readonly destination: { readonly ton: number; readonly npi: number };
  readonly throughputPerSecond: number;
  readonly windowSize: number;
  readonly createdAt: string;
  readonly disabledAt: string | null;
}

export type AddConnectorInput = Omit<NewConnector, 'now'>;

/** The password is sealed under the platform secret (the one API keys are derived from). */
export async function addConnectorCommand(db: Db, platformSecret: Buffer, input: AddConnectorInput, now: Date): Promise<ConnectorResult> {
  return toResult(await addConnector(db, platformSecret, { ...input, now }));
}

export interface ListConnectorsResult {
  readonly connectors: readonly ConnectorResult[];
}

/** All connectors, or those the account may route to (its own and the platform-wide ones). */
export async function listConnectorsCommand(db: Db, accountId?: string): Promise<ListConnectorsResult> {
  if (accountId !== undefined) await requireAccount(db, accountId);
  const connectors = await listConnectors(db, accountId === undefined ? {} : { accountId });
  return { connectors: connectors.map(toResult) };
}

/** Disables or enables the connector; the dispatcher unbinds or binds it at its next refresh. */
export async function setConnectorEnabledCommand(db: Db, connectorId: string, enabled: boolean, now: Date): Promise<ConnectorResult> {
  return toResult(await setConnectorEnabled(db, { connectorId, enabled, now }));
}

export type RouteConnectorInput =
  | { readonly kind: 'sender'; readonly connectorId: string; readonly accountId: string; readonly sender: string }
  | { readonly kind: 'number'; readonly connectorId: string; readonly number: string };

export type RouteConnectorResult =
  | { readonly connectorId: string; readonly accountId: string; readonly sender: string }
  | { readonly connectorId: string; readonly accountId: string; readonly number: string; readonly channel: 'smpp' };

export interface RouteConnectorDeps {
  readonly db: Db;
  /** Only number routes touch presence. */
  readonly presence: Pick<PhonePresenceStore, 'delete'> | null;
}

/**
 * Routes a sender id or a number to the connector. A routed number leaves any device, and its
 * presence entry (a device's or a simulated phone's) is removed: no phone holds it any more, and
 * a stale "offline" would make the API answer `queued` for a carrier send.
 */
export async function routeConnectorCommand(deps: RouteConnectorDeps, input: RouteConnectorInput): Promise<RouteConnectorResult> {
  switch (input.kind) {
    case 'sender': {
      const routed = await routeSenderToConnector(deps.db, { connectorId: input.connectorId, accountId: input.accountId, sender: input.sender });
      return { connectorId: input.connectorId, accountId: routed.accountId, sender: routed.sender };
    }
    case 'number': {
      const routed = await routeNumberToConnector(deps.db, { connectorId: input.connectorId, e164: input.number });
      try {
        await deps.presence?.delete(routed.e164);
      } catch (error) {
        throw new CliError(
          `${routed.e164} is routed to connector ${input.connectorId}, but its phone presence could not be cleared (${String(error)}): ` +
            `run \`reachctl device online --number ${routed.e164}\``,
          { cause: error },
        );
      }
      return { connectorId: input.connectorId, accountId: routed.accountId, number: routed.e164, channel: 'smpp' };
    }
    default: {
      const unknown: never = input;
      throw new Error(`unknown route ${JSON.stringify(unknown)}`);
    }
  }
}

interface AddOptions {
  name: string;
  host: string;
  port: number;
  systemId: string;
  password?: string;
  passwordStdin?: boolean;
  account?: string;
  platform?: boolean;
  systemType?: string;
  bindMode?: string;
  sourceTon?: number;
  sourceNpi?: number;
  destTon?: number;
  destNpi?: number;
  throughput?: number;
  window?: number;
  json?: boolean;
}

interface RouteOptions {
  connector: string;
  sender?: string;
  account?: string;
  number?: string;
  json?: boolean;
}

export function registerConnectorCommands(program: Command, context: CliContext): void {
  const connector = program.command('connector').description('manage SMPP carrier connectors and what is routed to them');
  connector
    .command('add')
    .description("add an SMPP connector (transceiver bind), for one account or the whole platform; the password is stored sealed under the platform secret")
    .requiredOption('--name <name>', 'a name, unique (case-insensitively) within the account or among platform-wide connectors')
    .requiredOption('--host <host>', "the carrier's SMPP host")
    .requiredOption('--port <port>', "the carrier's SMPP port", parseWholeNumber)
    .requiredOption('--system-id <id>', 'bind system_id (at most 15 characters)')
    .option('--password <password>', 'bind password (at most 8 characters, SMPP 3.4); visible in shell history and the process list')
    .option('--password-stdin', 'read the bind password from stdin instead (one line; e.g. from a secrets manager)')
    .option('--account <id>', 'the account the connector belongs to')
    .option('--platform', 'a platform-wide connector, routable from every account')
    .option('--system-type <type>', 'bind system_type (at most 12 characters; default empty)')
    .option('--bind-mode <mode>', 'only transceiver is supported', 'transceiver')
    .option('--source-ton <n>', 'TON of numeric source addresses (0–6; default 1)', parseWholeNumber)
    .option('--source-npi <n>', 'NPI of numeric source addresses (0–18; default 1)', parseWholeNumber)
    .option('--dest-ton <n>', 'TON of destination addresses (0–6; default 1)', parseWholeNumber)
    .option('--dest-npi <n>', 'NPI of destination addresses (0–18; default 1)', parseWholeNumber)
    .option('--throughput <n>', 'submits per second at most (default 100)', parseWholeNumber)
    .option('--window <n>', 'submits awaiting a response at most (1–10000; default 100)', parseWholeNumber)
    .option('--json', 'print the result as JSON')
    .action(async (options: AddOptions) => {
      const accountId = connectorScope(options);
      const password = await connectorPassword(options, context);
      const input: AddConnectorInput = {
        accountId,
        name: options.name,
        host: options.host,
        port: options.port,
        systemId: options.systemId,
        password,
        systemType: options.systemType,
        bindMode: options.bindMode,
        sourceTon: options.sourceTon,
        sourceNpi: options.sourceNpi,
        destTon: options.destTon,
        destNpi: options.destNpi,
        throughputPerSecond: options.throughput,
        windowSize: options.window,
      };
      // Before the database: without the platform secret nothing is stored.
      const secret = context.apiKeySecret();
      const result = await context.withDatabase((db) => addConnectorCommand(db, secret, input, context.now()));
      report(context.io, options.json, result, `added connector ${result.connectorId}: ${describeConnector(result)}`);
    });
  connector
    .command('list')
    .description("list connectors (never their passwords): all, or with --account those the account may route to")
    .option('--account <id>', "only the account's own and the platform-wide connectors")
    .option('--json', 'print the result as JSON')
    .action(async (options: { account?: string; json?: boolean }) => {
      const result = await context.withDatabase((db) => listConnectorsCommand(db, options.account));
      const human =
        result.connectors.length === 0
          ? 'no connectors (add one with `reachctl connector add`)'
          : result.connectors.map((c) => `${c.connectorId} ${describeConnector(c)}${c.disabledAt === null ? '' : `, disabled ${c.disabledAt}`}`).join('\n');
      report(context.io, options.json, result, human);
    });
  for (const enabled of [false, true]) {
    connector
      .command(enabled ? 'enable' : 'disable')
      .description(
        enabled
          ? 'enable a disabled connector: the dispatcher binds it again at its next refresh'
          : 'disable a connector: the dispatcher unbinds it at its next refresh, and messages routed to it fail (30003) until it is enabled or they are routed elsewhere',
      )
      .requiredOption('--connector <id>', 'connector id')
      .option('--json', 'print the result as JSON')
      .action(async (options: { connector: string; json?: boolean }) => {
        const result = await context.withDatabase((db) => setConnectorEnabledCommand(db, options.connector, enabled, context.now()));
        const state = result.disabledAt === null ? 'enabled' : `disabled (since ${result.disabledAt})`;
        report(context.io, options.json, result, `connector ${result.connectorId} ${describeConnector(result)} is ${state}`);
      });
  }
  connector
    .command('unroute')
    .description("take a sender id of the account off its connector: its messages use the default channel again (a number moves with `device bind` or another `connector route`)")
    .requiredOption('--sender <name>', 'a sender id registered to --account (case-sensitive)')
    .requiredOption('--account <id>', 'the account the sender id is registered to')
    .option('--json', 'print the result as JSON')
    .action(async (options: { sender: string; account: string; json?: boolean }) => {
      const result = await context.withDatabase((db) => unrouteSender(db, { accountId: options.account, sender: options.sender }));
      report(context.io, options.json, result, `sender id ${JSON.stringify(result.sender)} of account ${result.accountId} is on no connector: its messages use the default channel`);
    });
  connector
    .command('route')
    .description("send a sender id's (--sender with --account) or a number's (--number) messages through the connector")
    .requiredOption('--connector <id>', 'connector id (the account\'s own or a platform-wide one)')
    .option('--sender <name>', 'a sender id registered to --account (case-sensitive)')
    .option('--account <id>', 'the account the sender id is registered to')
    .option('--number <e164>', 'a provisioned number, e.g. +14155552671 (it leaves any device it was bound to)')
    .option('--json', 'print the result as JSON')
    .action(async (options: RouteOptions) => {
      const input = routeInput(options);
      const result =
        input.kind === 'sender'
          ? await context.withDatabase((db) => routeConnectorCommand({ db, presence: null }, input))
          : await context.withDatabase((db) =>
              context.withNats(async ({ js, names }) => routeConnectorCommand({ db, presence: await PhonePresenceStore.open(js, names) }, input)),
            );
      const what = 'sender' in result ? `sender id ${JSON.stringify(result.sender)} of account ${result.accountId}` : `${result.number} (account ${result.accountId})`;
      report(context.io, options.json, result, `${what} now goes out through connector ${result.connectorId}`);
    });
}

/** `--password` or `--password-stdin`, exactly one; from stdin without the line break that ends it. */
async function connectorPassword(options: { password?: string; passwordStdin?: boolean }, context: CliContext): Promise<string> {
  if ((options.password === undefined) === (options.passwordStdin !== true)) {
    throw new CliError('give exactly one of --password PASSWORD or --password-stdin (the password on stdin, kept out of shell history)');
  }
  if (options.password !== undefined) return options.password;
  if (!context.io.readStdin) throw new CliError('--password-stdin: this reachctl cannot read stdin');
  const text = await context.io.readStdin();
  const password = text.replace(/\r?\n$/, '');
  if (password.includes('\n')) throw new CliError('--password-stdin: expected one line on stdin, got several');
  return password;
}

/** `--account ID` or `--platform`, exactly one. */
function connectorScope(options: { account?: string; platform?: boolean }): string | null {
  if ((options.account === undefined) === (options.platform !== true)) {
    throw new CliError('give exactly one of --account ID (a connector of that account) or --platform (a connector every account may route to)');
  }
  return options.account ?? null;
}

function routeInput(options: RouteOptions): RouteConnectorInput {
  if (options.number !== undefined) {
    if (options.sender !== undefined || options.account !== undefined) {
      throw new CliError('give either --number +E164 (its account is the one holding it) or --sender NAME --account ID, not both');
    }
    return { kind: 'number', connectorId: options.connector, number: options.number };
  }
  if (options.sender === undefined || options.account === undefined) {
    throw new CliError('give either --sender NAME --account ID or --number +E164');
  }
  return { kind: 'sender', connectorId: options.connector, accountId: options.account, sender: options.sender };
}

function describeConnector(c: ConnectorResult): string {
  const scope = c.accountId === null ? 'platform-wide' : `account ${c.accountId}`;
  return (
    `${JSON.stringify(c.name)} (${scope}): ${c.host}:${c.port} as ${JSON.stringify(c.systemId)}, ${c.bindMode}, ` +
    `${c.throughputPerSecond}/s, window ${c.windowSize}`
  );
}

function toResult(c: SmppConnectorSummary): ConnectorResult {
  return {
    connectorId: c.id,
    accountId: c.accountId,
    name: c.name,
    host: c.host,
    port: c.port,
    systemId: c.systemId,
    systemType: c.systemType,
    bindMode: c.bindMode,
    source: { ton: c.source.ton, npi: c.source.npi },
    destination: { ton: c.destination.ton, npi: c.destination.npi },
    throughputPerSecond: c.throughputPerSecond,
    windowSize: c.windowSize,
    createdAt: c.createdAt.toISOString(),
    disabledAt: c.disabledAt?.toISOString() ?? null,
  };
}
