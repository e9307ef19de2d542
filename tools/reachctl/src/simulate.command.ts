import { SimulateInbound, type NatsNames } from '@reach/contracts';
import type { Db } from '@reach/database';
import { publishCommand } from '@reach/messaging';
import type { Command } from 'commander';
import type { JetStreamClient } from 'nats';
import type { CliContext } from './cli-context';
import { CliError } from './cli-errors';
import { report } from './cli-output';
import { requireProvisioned } from './provisioned-number';

export interface SimulateInboundInput {
  readonly from: string;
  readonly to: string;
  readonly body: string;
}

export interface SimulateInboundDeps {
  readonly db: Db;
  readonly js: JetStreamClient;
  readonly names: NatsNames;
}

/**
 * Builds the command from the flags; `commandId` becomes the inbound message's id, so a retried
 * publish of the same command is deduplicated by JetStream and yields one message.
 */
export function buildSimulateInbound(input: SimulateInboundInput, now: Date, commandId: string): SimulateInbound {
  const parsed = SimulateInbound.safeParse({ commandId, from: input.from, to: input.to, body: input.body, issuedAt: now.toISOString() });
  if (!parsed.success) {
    throw new CliError(parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('; '));
  }
  return parsed.data;
}

/** Publishes a simulated inbound SMS to a provisioned number; the phone simulator turns it into a message. */
export async function simulateInbound(deps: SimulateInboundDeps, command: SimulateInbound): Promise<{ messageId: string }> {
  await requireProvisioned(deps.db, command.to);
  await publishCommand(deps.js, deps.names, 'simulate-inbound', command, command.commandId);
  return { messageId: command.commandId };
}

export function registerSimulateCommands(program: Command, context: CliContext): void {
  const simulate = program.command('simulate').description('feed the simulated channel');
  simulate
    .command('inbound')
    .description('deliver an SMS from a (simulated) phone to a provisioned number')
    .requiredOption('--from <e164>', 'sender, e.g. +14155550100')
    .requiredOption('--to <e164>', 'a provisioned number')
    .requiredOption('--body <text>', 'message text')
    .option('--json', 'print the result as JSON')
    .action(async (options: SimulateInboundInput & { json?: boolean }) => {
      // Validated before connecting anywhere, so a typo is reported as a typo.
      const command = buildSimulateInbound(options, context.now(), context.newId());
      const result = await context.withDatabase((db) =>
        context.withNats(({ js, names }) => simulateInbound({ db, js, names }, command)),
      );
      report(context.io, options.json, result, `inbound SMS from ${command.from} to ${command.to} accepted as message ${result.messageId}`);
    });
}
