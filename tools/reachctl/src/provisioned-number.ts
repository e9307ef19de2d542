import { findNumber, isValidE164, type ProvisionedNumber } from '@reach/accounts';
import type { Db } from '@reach/database';
import { CliError } from './cli-errors';

/** The simulated-phone commands act only on numbers an account holds. */
export async function requireProvisioned(db: Db, e164: string): Promise<ProvisionedNumber> {
  if (!isValidE164(e164)) throw new CliError(`${JSON.stringify(e164)} is not a valid E.164 number (for example +14155552671)`);
  const number = await findNumber(db, e164);
  if (!number) {
    throw new CliError(`${e164} is not provisioned: add it with \`reachctl number add --account ID --number ${e164}\``);
  }
  return number;
}
