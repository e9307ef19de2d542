/** The most characters an alphanumeric sender id may have (GSM 03.40 TP-OA: 11 GSM-7 characters). */
export const SENDER_ID_MAX_LENGTH = 11;

/**
 * True for an alphanumeric sender id we accept: 1–11 letters, digits and spaces with at least one
 * letter. All digits is refused because handsets would take it for a (short) number, and so is
 * anything outside ASCII, which carriers do not transmit reliably in the originator address.
 */
export function isValidSenderId(value: string): boolean {
  return senderIdProblem(value) === null;
}

/** Why `value` is not a valid sender id, for error messages; null when it is valid. */
export function senderIdProblem(value: string): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > SENDER_ID_MAX_LENGTH) return `must be at most ${SENDER_ID_MAX_LENGTH} characters (has ${value.length})`;
  if (!/^[A-Za-z0-9 ]+$/.test(value)) return 'may only hold letters A–Z, digits and spaces';
  if (!/[A-Za-z]/.test(value)) return 'must contain at least one letter';
  return null;
}
