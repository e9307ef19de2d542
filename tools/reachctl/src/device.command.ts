import { bindDeviceNumber, createDevice, listDevices, requireAccount, revokeDevice, setDeviceSendsPerMinute } from '@reach/accounts';
import type { Db } from '@reach/database';
import { PhonePresenceStore } from '@reach/messaging';
import type { Command } from 'commander';
import type { CliContext } from './cli-context';
import { registerDeviceSimulateCommand } from './device-simulate.command';
import { CliError } from './cli-errors';
import { parseWholeNumber } from './cli-options';
import { report } from './cli-output';
import { requireProvisioned } from './provisioned-number';

export interface PresenceResult {
  readonly number: string;
  readonly online: boolean;
  readonly changedAt: string;
}

export interface PresenceDeps {
  readonly db: Db;
  readonly presence: Pick<PhonePresenceStore, 'set'>;
  readonly now: Date;
}

/** Switches a provisioned number's simulated phone on or off (the presence KV bucket). */
export async function setPhonePresence(deps: PresenceDeps, input: { number: string; online: boolean }): Promise<PresenceResult> {
  await requireProvisioned(deps.db, input.number);
  await deps.presence.set(input.number, input.online, deps.now);
  return { number: input.number, online: input.online, changedAt: deps.now.toISOString() };
}

export interface CreateDeviceInput {
  readonly accountId: string;
  readonly name?: string;
  readonly sendsPerMinute?: number;
}

/** Exactly what `device create --json` prints; the token appears here and nowhere else. */
export interface CreateDeviceResult {
  readonly deviceId: string;
  readonly accountId: string;
  readonly name: string;
  readonly sendsPerMinute: number;
  readonly token: string;
}

export async function createDeviceCommand(db: Db, input: CreateDeviceInput, now: Date): Promise<CreateDeviceResult> {
  const { device, token } = await createDevice(db, { ...input, now });
  return { deviceId: device.id, accountId: device.accountId, name: device.name, sendsPerMinute: device.sendsPerMinute, token };
}

export interface BindDeviceInput {
  readonly deviceId: string;
  readonly number: string;
  readonly simSlot?: number;
}

export interface BindDeviceResult {
  readonly number: string;
  readonly deviceId: string;
  readonly accountId: string;
  readonly simSlot: number;
  /** The device that held the number before (null: none); equal to `deviceId` when only the slot changed, or nothing. */
  readonly previousDeviceId: string | null;
  /** Whether the number's presence was set offline (it moved to this device). */
  readonly markedOffline: boolean;
}

export interface BindDeviceDeps {
  readonly db: Db;
  readonly presence: Pick<PhonePresenceStore, 'set'>;
  readonly now: Date;
}

/**
 * Binds the number to the device's SIM, then, when the number came to this device, marks its
 * presence offline: a number with no presence entry counts as online, so without this the API
 * would answer `dispatched` for a device that never connected. The device channel marks it
 * online when the device connects. A rebind to the same device leaves presence alone (the
 * device may be connected right now).
 */
export async function bindDeviceCommand(deps: BindDeviceDeps, input: BindDeviceInput): Promise<BindDeviceResult> {
  const bound = await bindDeviceNumber(deps.db, { deviceId: input.deviceId, e164: input.number, simSlot: input.simSlot, now: deps.now });
  const moved = bound.previousDeviceId !== bound.deviceId;
  if (moved) {
    try {
      await deps.presence.set(bound.e164, false, deps.now);
    } catch (error) {
      throw new CliError(
        `${bound.e164} is bound to device ${bound.deviceId}, but its presence could not be set offline (${String(error)}): ` +
          `run \`reachctl device offline --number ${bound.e164}\``,
        { cause: error },
      );
    }
  }
  return {
    number: bound.e164,
    deviceId: bound.deviceId,
    accountId: bound.accountId,
    simSlot: bound.simSlot,
    previousDeviceId: bound.previousDeviceId,
    markedOffline: moved,
  };
}

export interface RevokeDeviceResult {
  readonly deviceId: string;
  readonly accountId: string;
  /** The first revocation's time (revoking again changes nothing). */
  readonly revokedAt: string;
  /** Numbers still bound to it: their messages wait until they are bound to another device. */
  readonly numbers: readonly string[];
}

/**
 * Revokes a device: its token stops working, and the dispatcher disconnects it if it is
 * connected (at its next refresh of the channels, CHANNEL_REFRESH_INTERVAL_MS).
 */
export async function revokeDeviceCommand(db: Db, deviceId: string, now: Date): Promise<RevokeDeviceResult> {
  const device = await revokeDevice(db, { deviceId, now });
  return {
    deviceId: device.id,
    accountId: device.accountId,
    revokedAt: (device.revokedAt ?? now).toISOString(),
    numbers: device.numbers.map((number) => number.e164),
  };
}

function describeRevoked(result: RevokeDeviceResult): string {
  const numbers =
    result.numbers.length === 0
      ? ''
      : `; ${result.numbers.join(', ')} stay${result.numbers.length === 1 ? 's' : ''} bound to it and ${result.numbers.length === 1 ? 'its' : 'their'} messages wait: bind ${result.numbers.length === 1 ? 'it' : 'them'} to another device with \`reachctl device bind\``;
  return `device ${result.deviceId} is revoked (since ${result.revokedAt}): its token no longer works and a connected phone is disconnected within the dispatcher's refresh interval${numbers}`;
}

export interface ListDevicesResult {
  readonly accountId: string;
  readonly devices: readonly {
    readonly deviceId: string;
    readonly name: string;
    readonly sendsPerMinute: number;
    readonly createdAt: string;
    readonly revokedAt: string | null;
    readonly numbers: readonly { readonly number: string; readonly simSlot: number | null }[];
  }[];
}

/** The account's devices and their numbers (never their tokens, which are not stored). */
export async function listDevicesCommand(db: Db, accountId: string): Promise<ListDevicesResult> {
  await requireAccount(db, accountId);
  const devices = await listDevices(db, accountId);
  return {
    accountId,
    devices: devices.map((device) => ({
      deviceId: device.id,
      name: device.name,
      sendsPerMinute: device.sendsPerMinute,
      createdAt: device.createdAt.toISOString(),
      revokedAt: device.revokedAt?.toISOString() ?? null,
      numbers: device.numbers.map((number) => ({ number: number.e164, simSlot: number.simSlot })),
    })),
  };
}

export function registerDeviceCommands(program: Command, context: CliContext): void {
  const device = program.command('device').description("manage the account's Android devices, and control a number's simulated phone");
  device
    .command('create')
    .description('register a device of an account and print its token (shown once: only its hash is stored)')
    .requiredOption('--account <id>', 'account id')
    .option('--name <name>', 'a name to tell devices apart')
    .option('--sends-per-minute <n>', 'how fast the device may send (1–10000; default 30, the Android limit)', parseWholeNumber)
    .option('--json', 'print the result as JSON')
    .action(async (options: { account: string; name?: string; sendsPerMinute?: number; json?: boolean }) => {
      const input = { accountId: options.account, name: options.name, sendsPerMinute: options.sendsPerMinute };
      const result = await context.withDatabase((db) => createDeviceCommand(db, input, context.now()));
      report(
        context.io,
        options.json,
        result,
        `created device ${result.deviceId}${result.name ? ` (${JSON.stringify(result.name)})` : ''} for account ${result.accountId}, ` +
          `${result.sendsPerMinute} sends per minute; device token, shown only now: ${result.token}`,
      );
    });
  device
    .command('bind')
    .description("bind a number of the device's account to the device's SIM (its messages then go out through the device)")
    .requiredOption('--device <id>', 'device id')
    .requiredOption('--number <e164>', 'a number provisioned to the same account, e.g. +14155552671')
    .option('--sim <slot>', 'the SIM slot holding the number (0–7; default 0)', parseWholeNumber)
    .option('--json', 'print the result as JSON')
    .action(async (options: { device: string; number: string; sim?: number; json?: boolean }) => {
      const input = { deviceId: options.device, number: options.number, simSlot: options.sim };
      // NATS first: when it is unreachable nothing is bound, so there is no half-done bind to repair.
      const result = await context.withDatabase((db) =>
        context.withNats(async ({ js, names }) => {
          const presence = await PhonePresenceStore.open(js, names);
          return bindDeviceCommand({ db, presence, now: context.now() }, input);
        }),
      );
      const moved = result.previousDeviceId !== null && result.previousDeviceId !== result.deviceId ? ` (moved from device ${result.previousDeviceId})` : '';
      const presence = result.markedOffline ? '; it counts as offline until the device connects' : '';
      report(context.io, options.json, result, `${result.number} is bound to device ${result.deviceId}, SIM slot ${result.simSlot}${moved}${presence}`);
    });
  device
    .command('pace')
    .description('change how fast the device may send; a connected phone gets the new pace at the next refresh, counting its sends of the last minute')
    .requiredOption('--device <id>', 'device id')
    .requiredOption('--sends-per-minute <n>', 'sends per minute (1–10000; Android refuses more than 30 unless the phone allows it)', parseWholeNumber)
    .option('--json', 'print the result as JSON')
    .action(async (options: { device: string; sendsPerMinute: number; json?: boolean }) => {
      const device = await context.withDatabase((db) => setDeviceSendsPerMinute(db, { deviceId: options.device, sendsPerMinute: options.sendsPerMinute }));
      const result = { deviceId: device.id, accountId: device.accountId, sendsPerMinute: device.sendsPerMinute };
      report(context.io, options.json, result, `device ${result.deviceId} may send ${result.sendsPerMinute} messages per minute (a connected phone from the dispatcher's next refresh)`);
    });
  device
    .command('revoke')
    .description('revoke a device: its token stops working and a connected phone is disconnected (its numbers stay bound to it)')
    .requiredOption('--device <id>', 'device id')
    .option('--json', 'print the result as JSON')
    .action(async (options: { device: string; json?: boolean }) => {
      const result = await context.withDatabase((db) => revokeDeviceCommand(db, options.device, context.now()));
      report(context.io, options.json, result, describeRevoked(result));
    });
  device
    .command('list')
    .description("list an account's devices and the numbers bound to them")
    .requiredOption('--account <id>', 'account id')
    .option('--json', 'print the result as JSON')
    .action(async (options: { account: string; json?: boolean }) => {
      const result = await context.withDatabase((db) => listDevicesCommand(db, options.account));
      report(context.io, options.json, result, describeDevices(result));
    });
  for (const online of [false, true]) {
    device
      .command(online ? 'online' : 'offline')
      .description(online ? "bring the number's phone online (queued messages are sent)" : "take the number's phone offline (sends are queued)")
      .requiredOption('--number <e164>', 'a provisioned number, e.g. +14155552671')
      .option('--json', 'print the result as JSON')
      .action(async (options: { number: string; json?: boolean }) => {
        const result = await context.withDatabase((db) =>
          context.withNats(async ({ js, names }) => {
            const presence = await PhonePresenceStore.open(js, names);
            return setPhonePresence({ db, presence, now: context.now() }, { number: options.number, online });
          }),
        );
        report(context.io, options.json, result, `${result.number}'s phone is now ${result.online ? 'online' : 'offline'}`);
      });
  }
  registerDeviceSimulateCommand(device);
}

function describeDevices(result: ListDevicesResult): string {
  if (result.devices.length === 0) return `account ${result.accountId} has no devices (add one with \`reachctl device create --account ${result.accountId}\`)`;
  return result.devices
    .map((device) => {
      const name = device.name ? ` ${JSON.stringify(device.name)}` : '';
      const numbers = device.numbers.length === 0 ? 'no numbers' : device.numbers.map((n) => `${n.number} (SIM ${n.simSlot ?? '?'})`).join(', ');
      const revoked = device.revokedAt === null ? '' : `, revoked ${device.revokedAt}`;
      return `${device.deviceId}${name}: ${device.sendsPerMinute} sends/min, ${numbers}${revoked}`;
    })
    .join('\n');
}
