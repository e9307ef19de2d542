export { AccountsError, accountsErrorCodes, isAccountsError, type AccountsErrorCode } from './accounts.errors';
export {
  API_KEY_DISPLAY_PREFIX_LENGTH,
  API_KEY_PREFIX,
  API_KEY_SECRET_MIN_BYTES,
  apiKeyDisplayPrefix,
  deriveApiKey,
  generateApiUser,
  hashApiKey,
  isApiKeyFormat,
  isApiUserFormat,
  parseApiKeySecret,
} from './api-key';
export {
  authenticateApiUser,
  authenticateBearer,
  createAccount,
  findAccount,
  issueApiKey,
  listApiKeys,
  requireAccount,
  revokeApiKey,
  signingApiKey,
  type Account,
  type AccountStatus,
  type ApiKeyIssuing,
  type ApiKeySummary,
  type BillingTerms,
  type CreatedAccount,
  type IssuedApiKey,
  type NewAccount,
} from './accounts.repository';
export {
  addNumber,
  channels,
  findNumber,
  isChannel,
  isValidE164,
  listNumbers,
  provisionNumber,
  releaseNumber,
  type Channel,
  type NewNumber,
  type NumberProvisioning,
  type NumberRelease,
  type ProvisionedNumber,
} from './numbers.repository';
export { AccountDirectory, databaseAccountSource, type AccountDirectoryOptions, type AccountSource } from './account-cache';
export { SENDER_ID_MAX_LENGTH, isValidSenderId, senderIdProblem } from './sender-id';
export { addSender, findSender, listSenders, type NewSender, type RegisteredSender } from './senders.repository';
export {
  MAX_BALANCE_AMOUNT,
  getBalance,
  refundReservation,
  reserveFunds,
  setBalance,
  type AccountBalance,
  type ReserveFunds,
  type ReserveFundsResult,
  type SetBalance,
} from './balances.repository';
