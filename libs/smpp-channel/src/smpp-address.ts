/**
 * How Reach's addresses and times go on the SMPP wire (pure). E.164 numbers travel as digits
 * without the `+` (the TON says they are international); alphanumeric sender ids need TON 5
 * (alphanumeric) / NPI 0 whatever the connector's numeric TON/NPI are.
 */

export interface SmppAddressType {
  readonly ton: number;
  readonly npi: number;
}

export interface SmppAddress extends SmppAddressType {
  readonly addr: string;
}

/** TON values (SMPP 3.4 §5.2.5) used here. */
export const Ton = { UNKNOWN: 0, INTERNATIONAL: 1, ALPHANUMERIC: 5 } as const;

/** The default numeric TON/NPI: international, ISDN (E.164). */
export const E164_ADDRESS_TYPE: SmppAddressType = { ton: Ton.INTERNATIONAL, npi: 1 };

/**
 * An outbound address: `+14155550100` → `14155550100` with the connector's numeric TON/NPI; an
 * address holding a letter (an alphanumeric sender id) → as is with TON 5 / NPI 0.
 */
export function toSmppAddress(address: string, numeric: SmppAddressType = E164_ADDRESS_TYPE): SmppAddress {
  if (/[A-Za-z]/.test(address)) return { addr: address, ton: Ton.ALPHANUMERIC, npi: 0 };
  return { addr: address.startsWith('+') ? address.slice(1) : address, ...numeric };
}

/**
 * An inbound address as Reach writes it: digits (international or unknown TON, which SMSCs use
 * for international numbers too) become E.164 with `+`; anything else (alphanumeric, national
 * short codes with TON 3) is kept as sent.
 */
export function fromSmppAddress(addr: string, ton: number | undefined): string {
  const digits = addr.startsWith('+') ? addr.slice(1) : addr;
  if (!/^\d{1,15}$/.test(digits)) return addr;
  if (ton === undefined || ton === Ton.INTERNATIONAL || ton === Ton.UNKNOWN) return `+${digits}`;
  return digits;
}

/** The longest relative validity the format carries here: 99 days (the DD field). */
const MAX_RELATIVE_SECONDS = 99 * 86_400 + 23 * 3600 + 59 * 60 + 59;

/**
 * A relative validity_period (SMPP 3.4 §7.1.1) as the `smpp` package takes it: the twelve digits
 * `YYMMDDhhmmss` (the package appends `000R`). Years and months stay 0 so the SMSC does no
 * calendar arithmetic; seconds above 99 days are capped there. Relative time does not depend on
 * the SMSC's clock agreeing with ours.
 */
export function relativeValidityPeriod(seconds: number): string {
  const total = Math.max(1, Math.min(MAX_RELATIVE_SECONDS, Math.floor(seconds)));
  const two = (n: number): string => String(n).padStart(2, '0');
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  return `0000${two(days)}${two(hours)}${two(minutes)}${two(total % 60)}`;
}
