import type { CliIo } from './cli-context';

/** `--json` prints the result object on one line (for scripts); otherwise a short sentence. */
export function report(io: CliIo, json: boolean | undefined, result: object, human: string): void {
  io.out(json ? JSON.stringify(result) : human);
}
