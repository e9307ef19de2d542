import { readFileSync } from 'node:fs';
import { isAccountsError, parseApiKeySecret } from '@reach/accounts';
import { CliError } from './cli-errors';
import { DEFAULT_API_KEY_SECRET_FILE, type ApiKeySecretSource } from './config';

const HOW_TO_SET =
  'API keys are derived from this platform secret and SMPP connector passwords are sealed with it, ' +
  'so the callbacks service and the dispatcher must use the same one: ' +
  'set REACH_API_KEY_SECRET (generate one with `openssl rand -hex 32`), or REACH_API_KEY_SECRET_FILE to a file holding it, ' +
  `or start the platform once with \`npm start\`, which creates ${DEFAULT_API_KEY_SECRET_FILE}`;

/**
 * The platform secret new API keys are derived from (and connector passwords sealed with).
 * reachctl never makes one up: a key derived from a secret the callbacks service does not share
 * could not sign that account's callbacks, and a password sealed under it the dispatcher could
 * not open.
 */
export function readApiKeySecret(source: ApiKeySecretSource): Buffer {
  if (source.kind === 'value') return source.secret;
  let text: string;
  try {
    text = readFileSync(source.path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const missing = source.explicit
        ? `REACH_API_KEY_SECRET_FILE names ${source.path}, which does not exist`
        : `REACH_API_KEY_SECRET is not set and ${source.path} does not exist`;
      throw new CliError(`no API key secret: ${missing}. ${HOW_TO_SET}`, { cause: error });
    }
    throw new CliError(`cannot read the API key secret from ${source.path} (${code ?? String(error)})`, { cause: error });
  }
  try {
    return parseApiKeySecret(text);
  } catch (error) {
    if (!isAccountsError(error)) throw error;
    throw new CliError(`${source.path}: ${error.message}`, { cause: error });
  }
}
