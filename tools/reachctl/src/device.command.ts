import type { Db } from '@reach/database';
import { PhonePresenceStore } from '@reach/messaging';
import type { Command } from 'commander';
import type { CliContext } from './cli-context';
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

export function registerDeviceCommands(program: Command, context: CliContext): void {
  const device = program.command('device').description("control a number's simulated phone");
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
}
