import { randomUUID } from 'node:crypto';
import type { Db } from '@reach/database';
import { sql } from 'kysely';
import { AccountsError } from './accounts.errors';
import { inTransaction, isUuid, requireAccount } from './accounts.repository';
import { openConnectorPassword, sealConnectorPassword } from './connector-password';
import { validateNewConnector, type ConnectorSettingsInput, type NewConnector, type SmppBindMode } from './connector-settings';
import { isValidE164, toNumber, type ProvisionedNumber } from './numbers.repository';
import type { RegisteredSender } from './senders.repository';
import { readTimestamp, timestampValue } from './timestamps';

/** An enabled connector as the SMPP channel binds it: the password opened. */
export interface SmppConnectorSettings extends ConnectorSettingsInput {
  readonly id: string;
  readonly bindMode: 'transceiver';
}

/** A connector as listed: everything but the password. */
export interface SmppConnectorSummary extends Omit<SmppConnectorSettings, 'password'> {
  readonly createdAt: Date;
  readonly disabledAt: Date | null;
}

/** One route: messages of the account from `sender` (a number or an alphanumeric sender id) go out on the connector. */
export interface SmppConnectorRoute {
  readonly accountId: string;
  readonly sender: string;
  readonly connectorId: string;
}

export interface SenderConnectorRoute {
  readonly connectorId: string;
  readonly accountId: string;
  readonly sender: string;
}

export interface NumberConnectorRoute {
  readonly connectorId: string;
  readonly e164: string;
}

const CONNECTOR_COLUMNS = [
  'id',
  'account_id',
  'name',
  'host',
  'port',
  'system_id',
  'system_type',
  'bind_mode',
  'source_ton',
  'source_npi',
  'dest_ton',
  'dest_npi',
  'throughput_per_second',
  'window_size',
  'created_at',
  'disabled_at',
] as const;

interface ConnectorColumns {
  id: string;
  account_id: string | null;
  name: string;
  host: string;
  port: number;
  system_id: string;
  system_type: string;
  bind_mode: SmppBindMode;
  source_ton: number;
  source_npi: number;
  dest_ton: number;
  dest_npi: number;
  throughput_per_second: number;
  window_size: number;
  created_at: unknown;
  disabled_at: Date | null;
}

/**
 * Adds a carrier connector, for one account or (`accountId: null`) the whole platform. Every
 * setting is checked first (`INVALID_CONNECTOR`, `UNSUPPORTED_BIND_MODE`); the password is stored
 * sealed under `platformSecret` (see `sealConnectorPassword`), never in clear. Names are unique,
 * case-insensitively, within the account or among platform-wide connectors (`CONNECTOR_NAME_TAKEN`).
 */
export async function addConnector(db: Db, platformSecret: Buffer, input: NewConnector): Promise<SmppConnectorSummary> {
  const settings = validateNewConnector(input);
  const passwordSealed = sealConnectorPassword(platformSecret, settings.password);
  return inTransaction(db, async (trx) => {
    if (settings.accountId !== null) await requireAccount(trx, settings.accountId);
    // The only unique index a fresh id can meet is the per-scope name: no row back means taken.
    const row = await trx
      .insertInto('smpp_connectors')
      .values({
        id: randomUUID(),
        account_id: settings.accountId,
        name: settings.name,
        host: settings.host,
        port: settings.port,
        system_id: settings.systemId,
        password_sealed: passwordSealed,
        system_type: settings.systemType,
        bind_mode: settings.bindMode,
        source_ton: settings.source.ton,
        source_npi: settings.source.npi,
        dest_ton: settings.destination.ton,
        dest_npi: settings.destination.npi,
        throughput_per_second: settings.throughputPerSecond,
        window_size: settings.windowSize,
        created_at: timestampValue(input.now ?? new Date()),
      })
      .onConflict((oc) => oc.doNothing())
      .returning(CONNECTOR_COLUMNS)
      .executeTakeFirst();
    if (!row) {
      const scope = settings.accountId === null ? 'among platform-wide connectors' : `on account ${settings.accountId}`;
      throw new AccountsError('CONNECTOR_NAME_TAKEN', `a connector named ${JSON.stringify(settings.name)} already exists ${scope} (names are case-insensitive)`);
    }
    return toSummary(row);
  });
}

/**
 * Connectors without their passwords: all of them, or (with `accountId`) those the account may
 * route to, its own and the platform-wide ones. Platform-wide first, then by name.
 */
export async function listConnectors(db: Db, filter: { readonly accountId?: string } = {}): Promise<SmppConnectorSummary[]> {
  const { accountId } = filter;
  if (accountId !== undefined && !isUuid(accountId)) return [];
  let query = db.selectFrom('smpp_connectors').select(CONNECTOR_COLUMNS);
  if (accountId !== undefined) query = query.where((eb) => eb.or([eb('account_id', 'is', null), eb('account_id', '=', accountId)]));
  const rows = await query
    .orderBy(sql`account_id is not null`)
    .orderBy('account_id')
    .orderBy(sql`lower(name)`)
    .orderBy('id')
    .execute();
  return rows.map(toSummary);
}

/**
 * Disables (`enabled: false`) or enables a connector. A disabled connector is not bound: the SMPP
 * channel unbinds it at its next refresh, and messages routed to it fail with 30003 rather than
 * go out some other way; no new route may point at it. Idempotent: disabling again keeps the
 * first time.
 */
export async function setConnectorEnabled(db: Db, input: { readonly connectorId: string; readonly enabled: boolean; readonly now?: Date }): Promise<SmppConnectorSummary> {
  const notFound = () => new AccountsError('CONNECTOR_NOT_FOUND', `no connector ${input.connectorId}`);
  if (!isUuid(input.connectorId)) throw notFound();
  const now = input.now ?? new Date();
  const row = await db
    .updateTable('smpp_connectors')
    .set((eb) => ({ disabled_at: input.enabled ? null : eb.fn.coalesce('disabled_at', eb.val(timestampValue(now))) }))
    .where('id', '=', input.connectorId)
    .returning(CONNECTOR_COLUMNS)
    .executeTakeFirst();
  if (!row) throw notFound();
  return toSummary(row);
}

/**
 * Sends the account's messages from the registered sender id through the connector. The
 * connector must be the account's own or platform-wide (`CONNECTOR_ACCOUNT_MISMATCH`) and enabled.
 * Gateways may go on using the previous channel for up to 30 s (their sender cache).
 */
export async function routeSenderToConnector(db: Db, input: SenderConnectorRoute): Promise<RegisteredSender> {
  return inTransaction(db, async (trx) => {
    await requireAccount(trx, input.accountId);
    const connector = await usableConnector(trx, input.connectorId, input.accountId);
    const row = await trx
      .updateTable('senders')
      .set({ connector_id: connector.id })
      .where('account_id', '=', input.accountId)
      .where('sender', '=', input.sender)
      .returning(['account_id', 'sender', 'connector_id'])
      .executeTakeFirst();
    if (!row) {
      throw new AccountsError(
        'SENDER_NOT_REGISTERED',
        `sender id ${JSON.stringify(input.sender)} is not registered to account ${input.accountId} (matched case-sensitively): ` +
          `add it with \`reachctl sender add --account ${input.accountId} --sender ${JSON.stringify(input.sender)}\``,
      );
    }
    return Object.freeze({ accountId: row.account_id, sender: row.sender, connectorId: row.connector_id });
  });
}

/**
 * Takes the registered sender id off its connector: its messages use the default channel again.
 * Idempotent (a sender id on no connector is left as it is).
 */
export async function unrouteSender(db: Db, input: { readonly accountId: string; readonly sender: string }): Promise<RegisteredSender> {
  await requireAccount(db, input.accountId);
  const row = await db
    .updateTable('senders')
    .set({ connector_id: null })
    .where('account_id', '=', input.accountId)
    .where('sender', '=', input.sender)
    .returning(['account_id', 'sender', 'connector_id'])
    .executeTakeFirst();
  if (!row) {
    throw new AccountsError('SENDER_NOT_REGISTERED', `sender id ${JSON.stringify(input.sender)} is not registered to account ${input.accountId} (matched case-sensitively)`);
  }
  return Object.freeze({ accountId: row.account_id, sender: row.sender, connectorId: row.connector_id });
}

/**
 * Sends the number's messages through the connector: its channel becomes `smpp`, and a device
 * it was bound to no longer holds it. The connector must be the number's account's own or
 * platform-wide (`CONNECTOR_ACCOUNT_MISMATCH`) and enabled.
 */
export async function routeNumberToConnector(db: Db, input: NumberConnectorRoute): Promise<ProvisionedNumber> {
  if (!isValidE164(input.e164)) {
    throw new AccountsError('INVALID_NUMBER', `${JSON.stringify(input.e164)} is not a valid E.164 number (for example +14155552671)`);
  }
  return inTransaction(db, async (trx) => {
    const number = await trx.selectFrom('numbers').select(['e164', 'account_id']).where('e164', '=', input.e164).forUpdate().executeTakeFirst();
    if (!number) {
      throw new AccountsError('NUMBER_NOT_PROVISIONED', `${input.e164} is not provisioned: add it with \`reachctl number add --account ID --number ${input.e164}\``);
    }
    const connector = await usableConnector(trx, input.connectorId, number.account_id);
    const row = await trx
      .updateTable('numbers')
      .set({ channel: 'smpp', connector_id: connector.id, device_id: null, sim_slot: null })
      .where('e164', '=', input.e164)
      .returning(['e164', 'account_id', 'channel', 'device_id', 'sim_slot', 'connector_id'])
      .executeTakeFirstOrThrow();
    return toNumber(row);
  });
}

/**
 * Every enabled connector with its password opened, for the SMPP channel to bind. A password
 * that cannot be opened (another platform secret, or an altered row) fails the whole load with
 * `CONNECTOR_PASSWORD_UNREADABLE` naming the connector: binding with a wrong password would only
 * fail later, at the carrier, less clearly.
 */
export async function loadConnectors(db: Db, platformSecret: Buffer): Promise<SmppConnectorSettings[]> {
  const rows = await db
    .selectFrom('smpp_connectors')
    .select([...CONNECTOR_COLUMNS, 'password_sealed'])
    .where('disabled_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => {
    let password: string;
    try {
      password = openConnectorPassword(platformSecret, row.password_sealed);
    } catch (error) {
      if (error instanceof AccountsError) throw new AccountsError(error.code, `connector ${row.id} (${JSON.stringify(row.name)}): ${error.message}`);
      throw error;
    }
    const { createdAt: _createdAt, disabledAt: _disabledAt, ...settings } = toSummary(row);
    return Object.freeze({ ...settings, password });
  });
}

/**
 * Every route to a connector: routed numbers (`sender` is the E.164 number) and routed sender
 * ids. Routes to disabled connectors are included, so the channel can fail their messages
 * rather than send them some other way.
 */
export async function loadConnectorRoutes(db: Db): Promise<SmppConnectorRoute[]> {
  const numbers = await db
    .selectFrom('numbers')
    .select(['account_id', 'e164', 'connector_id'])
    .where('connector_id', 'is not', null)
    .orderBy('e164')
    .execute();
  const senders = await db
    .selectFrom('senders')
    .select(['account_id', 'sender', 'connector_id'])
    .where('connector_id', 'is not', null)
    .orderBy('account_id')
    .orderBy('sender')
    .execute();
  return [
    ...numbers.map((row): SmppConnectorRoute => ({ accountId: row.account_id, sender: row.e164, connectorId: row.connector_id! })),
    ...senders.map((row): SmppConnectorRoute => ({ accountId: row.account_id, sender: row.sender, connectorId: row.connector_id! })),
  ];
}

/** The connector, when `accountId`'s senders may use it: its own or platform-wide, and enabled. */
async function usableConnector(db: Db, connectorId: string, accountId: string) {
  const notFound = () => new AccountsError('CONNECTOR_NOT_FOUND', `no connector ${connectorId}`);
  if (!isUuid(connectorId)) throw notFound();
  const connector = await db.selectFrom('smpp_connectors').select(['id', 'account_id', 'name', 'disabled_at']).where('id', '=', connectorId).executeTakeFirst();
  if (!connector) throw notFound();
  if (connector.account_id !== null && connector.account_id !== accountId) {
    throw new AccountsError(
      'CONNECTOR_ACCOUNT_MISMATCH',
      `connector ${connectorId} belongs to another account: route account ${accountId}'s senders only to its own connectors or platform-wide ones`,
    );
  }
  if (connector.disabled_at !== null) throw new AccountsError('CONNECTOR_DISABLED', `connector ${connectorId} (${JSON.stringify(connector.name)}) is disabled`);
  return connector;
}

function toSummary(row: ConnectorColumns): SmppConnectorSummary {
  return Object.freeze({
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    host: row.host,
    port: row.port,
    systemId: row.system_id,
    systemType: row.system_type,
    bindMode: row.bind_mode,
    source: Object.freeze({ ton: row.source_ton, npi: row.source_npi }),
    destination: Object.freeze({ ton: row.dest_ton, npi: row.dest_npi }),
    throughputPerSecond: row.throughput_per_second,
    windowSize: row.window_size,
    createdAt: readTimestamp(row.created_at),
    disabledAt: row.disabled_at,
  });
}
