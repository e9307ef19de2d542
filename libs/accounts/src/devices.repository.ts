import { randomUUID } from 'node:crypto';
import type { Db } from '@reach/database';
import { AccountsError } from './accounts.errors';
import { inTransaction, isUuid, requireAccount } from './accounts.repository';
import { deviceTokenDigestsEqual, generateDeviceToken, hashDeviceTokenBytes, isDeviceTokenFormat } from './device-token';
import { isValidE164 } from './numbers.repository';
import { readTimestamp, timestampValue } from './timestamps';

/** The pacing a device gets unless told otherwise: Android's own limit is 30 SMS per 60 s. */
export const DEFAULT_SENDS_PER_MINUTE = 30;
export const MAX_SENDS_PER_MINUTE = 10_000;
export const MAX_DEVICE_NAME_LENGTH = 100;
/** Dual-SIM phones have two slots; the column allows up to eight. */
export const MAX_SIM_SLOT = 7;

export interface Device {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly sendsPerMinute: number;
  readonly createdAt: Date;
}

export interface NewDevice {
  readonly accountId: string;
  readonly name?: string;
  readonly sendsPerMinute?: number;
  readonly now?: Date;
}

export interface CreatedDevice {
  readonly device: Device;
  /** The only time the token exists outside the device: it is stored as a hash. */
  readonly token: string;
}

/** A number held by a device's SIM. */
export interface DeviceNumber {
  readonly e164: string;
  /** Null only for rows bound before slots were recorded; `bindDeviceNumber` always sets one. */
  readonly simSlot: number | null;
}

/** What a presented token finds (the dispatcher's device channel authenticates devices with it). */
export interface DeviceRecord {
  readonly deviceId: string;
  readonly accountId: string;
  readonly sendsPerMinute: number;
  readonly numbers: readonly DeviceNumber[];
}

export interface DeviceSummary extends Device {
  readonly revokedAt: Date | null;
  readonly numbers: readonly DeviceNumber[];
}

/** One row of the dispatcher's routing table: messages from `e164` go out through this device and slot. */
export interface DeviceBinding {
  readonly e164: string;
  readonly accountId: string;
  readonly deviceId: string;
  readonly simSlot: number | null;
  readonly sendsPerMinute: number;
}

export interface DeviceNumberBinding {
  readonly deviceId: string;
  readonly e164: string;
  /** Default 0 (the first SIM). */
  readonly simSlot?: number;
  readonly now?: Date;
}

export interface BoundDeviceNumber {
  readonly e164: string;
  readonly accountId: string;
  readonly deviceId: string;
  readonly simSlot: number;
  /** The device the number was bound to before this call (null when none); equal to `deviceId` when nothing moved. */
  readonly previousDeviceId: string | null;
}

/**
 * Why `value` cannot be a device's `sends_per_minute`, or null when it can. Pure, so reachctl and
 * tests share the rule with the repository.
 */
export function sendsPerMinuteProblem(value: number): string | null {
  if (!Number.isInteger(value) || value < 1 || value > MAX_SENDS_PER_MINUTE) {
    return `sends per minute must be a whole number from 1 to ${MAX_SENDS_PER_MINUTE}; got ${value}`;
  }
  return null;
}

export function simSlotProblem(value: number): string | null {
  if (!Number.isInteger(value) || value < 0 || value > MAX_SIM_SLOT) return `a SIM slot is a whole number from 0 to ${MAX_SIM_SLOT}; got ${value}`;
  return null;
}

/**
 * Registers a device of the account and returns its token, shown once: only SHA-256(token) is
 * stored, so a lost token cannot be recovered (create another device).
 */
export async function createDevice(db: Db, input: NewDevice): Promise<CreatedDevice> {
  const name = (input.name ?? '').trim();
  if (name.length > MAX_DEVICE_NAME_LENGTH) {
    throw new AccountsError('INVALID_DEVICE', `a device name is at most ${MAX_DEVICE_NAME_LENGTH} characters; got ${name.length}`);
  }
  const sendsPerMinute = input.sendsPerMinute ?? DEFAULT_SENDS_PER_MINUTE;
  const problem = sendsPerMinuteProblem(sendsPerMinute);
  if (problem !== null) throw new AccountsError('INVALID_DEVICE', problem);
  return inTransaction(db, async (trx) => {
    await requireAccount(trx, input.accountId);
    const token = generateDeviceToken();
    const row = await trx
      .insertInto('devices')
      .values({
        id: randomUUID(),
        account_id: input.accountId,
        name,
        token_hash: hashDeviceTokenBytes(token),
        sends_per_minute: sendsPerMinute,
        created_at: timestampValue(input.now ?? new Date()),
      })
      .returning(['id', 'account_id', 'name', 'sends_per_minute', 'created_at'])
      .executeTakeFirstOrThrow();
    return { device: toDevice(row), token };
  });
}

/**
 * The live device holding `token`, with its numbers; null for an unknown, revoked or malformed
 * token (a malformed one is refused without a query). Looked up by the token's SHA-256; the
 * digests are then compared in constant time, so the comparison says nothing through timing.
 */
export async function findDeviceByToken(db: Db, token: string): Promise<DeviceRecord | null> {
  if (!isDeviceTokenFormat(token)) return null;
  const presented = hashDeviceTokenBytes(token);
  const device = await db
    .selectFrom('devices')
    .select(['id', 'account_id', 'sends_per_minute', 'token_hash'])
    .where('token_hash', '=', presented)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!device || !deviceTokenDigestsEqual(device.token_hash, presented)) return null;
  const numbers = await boundNumbers(db, [device.id]);
  return Object.freeze({
    deviceId: device.id,
    accountId: device.account_id,
    sendsPerMinute: device.sends_per_minute,
    numbers: numbers.get(device.id) ?? [],
  });
}

/**
 * Binds a number of the device's account to the device's SIM in `simSlot` (default 0): messages
 * from it go out on the device channel (and no longer through a connector). Binding a number held
 * by another device moves it; binding it again where it is changes nothing. One slot holds one
 * number: a second number in an occupied slot is `SIM_SLOT_TAKEN`.
 *
 * The device row is locked for the check and the update, so concurrent binds to one device
 * cannot both claim a slot.
 */
export async function bindDeviceNumber(db: Db, input: DeviceNumberBinding): Promise<BoundDeviceNumber> {
  const simSlot = input.simSlot ?? 0;
  const slotProblem = simSlotProblem(simSlot);
  if (slotProblem !== null) throw new AccountsError('INVALID_SIM_SLOT', slotProblem);
  if (!isValidE164(input.e164)) {
    throw new AccountsError('INVALID_NUMBER', `${JSON.stringify(input.e164)} is not a valid E.164 number (for example +14155552671)`);
  }
  return inTransaction(db, async (trx) => {
    const device = await lockLiveDevice(trx, input.deviceId);
    const number = await trx
      .selectFrom('numbers')
      .select(['e164', 'account_id', 'device_id'])
      .where('e164', '=', input.e164)
      .forUpdate()
      .executeTakeFirst();
    if (!number || number.account_id !== device.account_id) {
      throw new AccountsError(
        'NUMBER_NOT_PROVISIONED',
        `${input.e164} is not provisioned to account ${device.account_id}, which device ${device.id} belongs to: ` +
          `add it with \`reachctl number add --account ${device.account_id} --number ${input.e164}\``,
      );
    }
    const occupant = await trx
      .selectFrom('numbers')
      .select('e164')
      .where('device_id', '=', device.id)
      .where('sim_slot', '=', simSlot)
      .where('e164', '!=', input.e164)
      .executeTakeFirst();
    if (occupant) {
      throw new AccountsError('SIM_SLOT_TAKEN', `SIM slot ${simSlot} of device ${device.id} already holds ${occupant.e164}: choose another slot`);
    }
    await trx
      .updateTable('numbers')
      .set({ device_id: device.id, sim_slot: simSlot, channel: 'device', connector_id: null })
      .where('e164', '=', input.e164)
      .execute();
    return Object.freeze({ e164: input.e164, accountId: device.account_id, deviceId: device.id, simSlot, previousDeviceId: number.device_id });
  });
}

/** The account's devices (revoked ones too, with `revokedAt`), oldest first, each with its numbers. */
export async function listDevices(db: Db, accountId: string): Promise<DeviceSummary[]> {
  if (!isUuid(accountId)) return [];
  const rows = await db
    .selectFrom('devices')
    .select(DEVICE_SUMMARY_COLUMNS)
    .where('account_id', '=', accountId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const numbers = await boundNumbers(db, rows.map((row) => row.id));
  return rows.map((row) => toSummary(row, numbers));
}

/**
 * The whole routing table: every number bound to a live device (of the number's own account, on
 * the device channel). A revoked device's numbers are left out: their messages wait until the
 * numbers are bound to another device.
 */
export async function loadDeviceBindings(db: Db): Promise<DeviceBinding[]> {
  const rows = await db
    .selectFrom('numbers')
    .innerJoin('devices', (join) => join.onRef('devices.id', '=', 'numbers.device_id').onRef('devices.account_id', '=', 'numbers.account_id'))
    .select(['numbers.e164', 'numbers.account_id', 'numbers.device_id', 'numbers.sim_slot', 'devices.sends_per_minute'])
    .where('devices.revoked_at', 'is', null)
    .where('numbers.channel', '=', 'device')
    .orderBy('numbers.e164')
    .execute();
  return rows.map((row) =>
    Object.freeze({ e164: row.e164, accountId: row.account_id, deviceId: row.device_id!, simSlot: row.sim_slot, sendsPerMinute: row.sends_per_minute }),
  );
}

/**
 * Revokes the device: its token stops working at the next lookup (a connected device stays
 * connected until it reconnects or the dispatcher drops it). Its numbers stay bound to it, and
 * so unsent, until they are bound to another device. Idempotent: the first revocation time stays.
 */
export async function revokeDevice(db: Db, input: { deviceId: string; now?: Date }): Promise<DeviceSummary> {
  if (!isUuid(input.deviceId)) throw deviceNotFound(input.deviceId);
  const now = input.now ?? new Date();
  const row = await db
    .updateTable('devices')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(now)) }))
    .where('id', '=', input.deviceId)
    .returning(DEVICE_SUMMARY_COLUMNS)
    .executeTakeFirst();
  if (!row) throw deviceNotFound(input.deviceId);
  const numbers = await boundNumbers(db, [row.id]);
  return toSummary(row, numbers);
}

/**
 * Changes how fast the device may send. The dispatcher applies it to a connected device at its
 * next refresh, counting the sends already in the current window. A revoked device is refused
 * (`DEVICE_REVOKED`).
 */
export async function setDeviceSendsPerMinute(db: Db, input: { readonly deviceId: string; readonly sendsPerMinute: number }): Promise<DeviceSummary> {
  const problem = sendsPerMinuteProblem(input.sendsPerMinute);
  if (problem !== null) throw new AccountsError('INVALID_DEVICE', problem);
  return inTransaction(db, async (trx) => {
    await lockLiveDevice(trx, input.deviceId);
    const row = await trx
      .updateTable('devices')
      .set({ sends_per_minute: input.sendsPerMinute })
      .where('id', '=', input.deviceId)
      .returning(DEVICE_SUMMARY_COLUMNS)
      .executeTakeFirstOrThrow();
    const numbers = await boundNumbers(trx, [row.id]);
    return toSummary(row, numbers);
  });
}

/** Which of `deviceIds` are revoked (ids that are not devices, or not uuids, are left out). */
export async function findRevokedDevices(db: Db, deviceIds: readonly string[]): Promise<string[]> {
  const ids = deviceIds.filter(isUuid);
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('devices').select('id').where('id', 'in', ids).where('revoked_at', 'is not', null).execute();
  return rows.map((row) => row.id);
}

async function lockLiveDevice(db: Db, deviceId: string) {
  if (!isUuid(deviceId)) throw deviceNotFound(deviceId);
  const device = await db.selectFrom('devices').select(['id', 'account_id', 'revoked_at']).where('id', '=', deviceId).forUpdate().executeTakeFirst();
  if (!device) throw deviceNotFound(deviceId);
  if (device.revoked_at !== null) throw new AccountsError('DEVICE_REVOKED', `device ${deviceId} is revoked: create a new device`);
  return device;
}

async function boundNumbers(db: Db, deviceIds: readonly string[]): Promise<Map<string, DeviceNumber[]>> {
  const byDevice = new Map<string, DeviceNumber[]>();
  if (deviceIds.length === 0) return byDevice;
  const rows = await db
    .selectFrom('numbers')
    .select(['device_id', 'e164', 'sim_slot'])
    .where('device_id', 'in', [...deviceIds])
    .orderBy('sim_slot')
    .orderBy('e164')
    .execute();
  for (const row of rows) {
    const list = byDevice.get(row.device_id!) ?? [];
    list.push(Object.freeze({ e164: row.e164, simSlot: row.sim_slot }));
    byDevice.set(row.device_id!, list);
  }
  return byDevice;
}

function deviceNotFound(deviceId: string): AccountsError {
  return new AccountsError('DEVICE_NOT_FOUND', `no device ${deviceId}`);
}

/** A device row as `DeviceSummary` reads it. */
const DEVICE_SUMMARY_COLUMNS = ['id', 'account_id', 'name', 'sends_per_minute', 'created_at', 'revoked_at'] as const;

function toSummary(
  row: { id: string; account_id: string; name: string; sends_per_minute: number; created_at: unknown; revoked_at: Date | null },
  numbers: ReadonlyMap<string, DeviceNumber[]>,
): DeviceSummary {
  return Object.freeze({ ...toDevice(row), revokedAt: row.revoked_at, numbers: numbers.get(row.id) ?? [] });
}

function toDevice(row: { id: string; account_id: string; name: string; sends_per_minute: number; created_at: unknown }): Device {
  return Object.freeze({
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    sendsPerMinute: row.sends_per_minute,
    createdAt: readTimestamp(row.created_at),
  });
}
