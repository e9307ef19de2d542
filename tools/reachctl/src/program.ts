import { Command } from 'commander';
import { registerAccountCommands } from './account.command';
import { registerBalanceCommands } from './balance.command';
import type { CliContext } from './cli-context';
import { registerConnectorCommands } from './connector.command';
import { registerDeviceCommands } from './device.command';
import { registerMigrateCommand } from './migrate.command';
import { registerNumberCommands } from './number.command';
import { registerSenderCommands } from './sender.command';
import { registerSimulateCommands } from './simulate.command';

export function buildProgram(context: CliContext): Command {
  const program = new Command('reachctl')
    .description(
      'Reach admin CLI. Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/reach), ' +
        'NATS_URL (default nats://127.0.0.1:4222), REACH_NAMESPACE (default reach), ' +
        'REACH_API_KEY_SECRET (the platform secret API keys are derived from and connector passwords are sealed with; ' +
        'the callbacks service and the dispatcher must use the same one) ' +
        'or REACH_API_KEY_SECRET_FILE (default .data/api-key-secret, written by npm start).',
    )
    // Settings made before .command() are inherited by every subcommand: errors are thrown
    // back to main() instead of exiting, and all output goes through the context's io.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.io.out(text.replace(/\n$/, '')),
      writeErr: (text) => context.io.err(text.replace(/\n$/, '')),
    })
    .showHelpAfterError('(add --help for usage)');
  registerAccountCommands(program, context);
  registerNumberCommands(program, context);
  registerSenderCommands(program, context);
  registerBalanceCommands(program, context);
  registerDeviceCommands(program, context);
  registerConnectorCommands(program, context);
  registerSimulateCommands(program, context);
  registerMigrateCommand(program, context);
  return program;
}
