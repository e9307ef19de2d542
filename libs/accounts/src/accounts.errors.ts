/** Stable codes: edges (HTTP dialects, reachctl) map them to their own wire format once. */
export const accountsErrorCodes = [
  'ACCOUNT_NOT_FOUND',
  'API_KEY_NOT_FOUND',
  'API_KEY_SECRET_MISMATCH',
  'CURRENCY_MISMATCH',
  'INVALID_ACCOUNT',
  'INVALID_AMOUNT',
  'INVALID_API_KEY_SECRET',
  'INVALID_CHANNEL',
  'INVALID_CURRENCY',
  'INVALID_NUMBER',
  'INVALID_SENDER',
  'NUMBER_IN_USE',
  'NUMBER_NOT_PROVISIONED',
  'NUMBER_TAKEN',
  'RESERVATION_CONFLICT',
  'SENDER_CASE_CONFLICT',
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
