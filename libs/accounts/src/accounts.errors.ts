/** Stable codes: edges (HTTP dialects, reachctl) map them to their own wire format once. */
export const accountsErrorCodes = [
  'ACCOUNT_NOT_FOUND',
  'API_KEY_NOT_FOUND',
  'API_KEY_SECRET_MISMATCH',
  'CONNECTOR_ACCOUNT_MISMATCH',
  'CONNECTOR_DISABLED',
  'CONNECTOR_NAME_TAKEN',
  'CONNECTOR_NOT_FOUND',
  'CONNECTOR_PASSWORD_UNREADABLE',
  'CURRENCY_MISMATCH',
  'DEVICE_NOT_FOUND',
  'DEVICE_REVOKED',
  'INVALID_ACCOUNT',
  'INVALID_AMOUNT',
  'INVALID_API_KEY_SECRET',
  'INVALID_CHANNEL',
  'INVALID_CONNECTOR',
  'INVALID_CURRENCY',
  'INVALID_DEVICE',
  'INVALID_NUMBER',
  'INVALID_SENDER',
  'INVALID_SIM_SLOT',
  'NUMBER_IN_USE',
  'NUMBER_NOT_PROVISIONED',
  'NUMBER_TAKEN',
  'RESERVATION_CONFLICT',
  'SENDER_CASE_CONFLICT',
  'SENDER_NOT_REGISTERED',
  'SIM_SLOT_TAKEN',
  'UNSUPPORTED_BIND_MODE',
] as const;
export type AccountsErrorCode = (typeof accountsErrorCodes)[number];

export class AccountsError extends Error {
  override readonly name = 'AccountsError';

  constructor(
    readonly code: AccountsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isAccountsError(error: unknown, code?: AccountsErrorCode): error is AccountsError {
  return error instanceof AccountsError && (code === undefined || error.code === code);
}
