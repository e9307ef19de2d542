import { CommanderError } from 'commander';
import { createCliContext, processIo, type CliIo } from './cli-context';
import { describeError } from './cli-errors';
import { loadConfig, type ReachctlConfig } from './config';
import { buildProgram } from './program';

export interface MainOptions {
  readonly io?: CliIo;
  /** Defaults to the environment (config.ts); tests pass their own database and namespace. */
  readonly readConfig?: () => ReachctlConfig;
}

/**
 * Runs one reachctl invocation and resolves to its exit code. Every command closes the
 * connections it opened, so the process ends as soon as the output is written.
 */
export async function main(argv: readonly string[] = process.argv, options: MainOptions = {}): Promise<number> {
  const io = options.io ?? processIo;
  const program = buildProgram(createCliContext(io, options.readConfig ?? (() => loadConfig())));
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    // Usage errors and --help: commander has printed its message already.
    if (error instanceof CommanderError) return error.exitCode;
    io.err(`reachctl: ${describeError(error)}`);
    return 1;
  }
}

if (require.main === module) {
  void main().then((exitCode) => {
    process.exitCode = exitCode;
  });
}
