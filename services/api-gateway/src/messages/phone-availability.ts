/** Whether the phone or channel behind a sending number can take a command right now. */
export abstract class PhoneAvailability {
  abstract isOnline(e164: string): boolean;
}
