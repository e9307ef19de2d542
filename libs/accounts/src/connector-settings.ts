import { AccountsError } from './accounts.errors';

/**
 * The rules for an SMPP connector's settings, pure so reachctl and tests share them with the
 * repository. Limits are SMPP 3.4's (§5.2: C-Octet Strings of ASCII whose maximum sizes include
 * the terminating NUL) and the `smpp_connectors` checks'.
 */
export const smppBindModes = ['transceiver'] as const;
export type SmppBindMode = (typeof smppBindModes)[number];

export const CONNECTOR_NAME_MAX_LENGTH = 100;
export const SMPP_HOST_MAX_LENGTH = 253;
export const SMPP_SYSTEM_ID_MAX_LENGTH = 15;
export const SMPP_PASSWORD_MAX_LENGTH = 8;
export const SMPP_SYSTEM_TYPE_MAX_LENGTH = 12;
export const SMPP_TON_MAX = 6;
export const SMPP_NPI_MAX = 18;
export const MAX_THROUGHPUT_PER_SECOND = 100_000;
export const MAX_WINDOW_SIZE = 10_000;

/** What `addConnector` accepts; everything but the connection and credentials has a default. */
export interface NewConnector {
  /** Null: platform-wide, routable from every account. */
  readonly accountId: string | null;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly systemId: string;
  readonly password: string;
  /** Default '' (the carrier's default). */
  readonly systemType?: string;
  /** Only 'transceiver' is supported (the default); a string so any other request gets a clear refusal. */
  readonly bindMode?: string;
  /** Default 1 (international) / 1 (ISDN, E.164). */
  readonly sourceTon?: number;
  readonly sourceNpi?: number;
  readonly destTon?: number;
  readonly destNpi?: number;
  /** Submits per second at most (default 100). */
  readonly throughputPerSecond?: number;
  /** Submits awaiting a response at most (default 100). */
  readonly windowSize?: number;
  readonly now?: Date;
}

/** `NewConnector` checked, with its defaults filled in. */
export interface ConnectorSettingsInput {
  readonly accountId: string | null;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly systemId: string;
  readonly password: string;
  readonly systemType: string;
  readonly bindMode: SmppBindMode;
  readonly source: { readonly ton: number; readonly npi: number };
  readonly destination: { readonly ton: number; readonly npi: number };
  readonly throughputPerSecond: number;
  readonly windowSize: number;
}

export const connectorDefaults = {
  systemType: '',
  bindMode: 'transceiver',
  ton: 1,
  npi: 1,
  throughputPerSecond: 100,
  windowSize: 100,
} as const;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const invalid = (problem: string) => new AccountsError('INVALID_CONNECTOR', problem);

/**
 * Checks every setting and fills in the defaults; the first problem is thrown as
 * `INVALID_CONNECTOR` (or `UNSUPPORTED_BIND_MODE`) with a message naming the setting.
 */
export function validateNewConnector(input: NewConnector): ConnectorSettingsInput {
  const name = input.name.trim();
  if (name.length === 0 || name.length > CONNECTOR_NAME_MAX_LENGTH) {
    throw invalid(`a connector name is 1 to ${CONNECTOR_NAME_MAX_LENGTH} characters (not only spaces)`);
  }
  if (input.host.length === 0 || input.host.length > SMPP_HOST_MAX_LENGTH || /\s/.test(input.host)) {
    throw invalid(`host must be a host name or IP address without spaces (1 to ${SMPP_HOST_MAX_LENGTH} characters); got ${JSON.stringify(input.host)}`);
  }
  wholeNumber('port', input.port, 1, 65_535);
  asciiField('system id', input.systemId, 1, SMPP_SYSTEM_ID_MAX_LENGTH);
  if (!PRINTABLE_ASCII.test(input.password)) throw invalid('the password must be printable ASCII (SMPP 3.4 C-Octet String)');
  if (input.password.length > SMPP_PASSWORD_MAX_LENGTH) {
    throw invalid(
      `SMPP 3.4 bind passwords are at most ${SMPP_PASSWORD_MAX_LENGTH} characters (the field is ${SMPP_PASSWORD_MAX_LENGTH + 1} octets with its NUL); ` +
        `got ${input.password.length}: ask the carrier for a shorter one`,
    );
  }
  const systemType = input.systemType ?? connectorDefaults.systemType;
  asciiField('system type', systemType, 0, SMPP_SYSTEM_TYPE_MAX_LENGTH);
  const bindMode = input.bindMode ?? connectorDefaults.bindMode;
  if (!isSmppBindMode(bindMode)) {
    throw new AccountsError('UNSUPPORTED_BIND_MODE', `only transceiver binds are supported; got bind mode ${JSON.stringify(bindMode)}`);
  }
  const source = { ton: ton('source TON', input.sourceTon), npi: npi('source NPI', input.sourceNpi) };
  const destination = { ton: ton('destination TON', input.destTon), npi: npi('destination NPI', input.destNpi) };
  const throughputPerSecond = input.throughputPerSecond ?? connectorDefaults.throughputPerSecond;
  wholeNumber('throughput per second', throughputPerSecond, 1, MAX_THROUGHPUT_PER_SECOND);
  const windowSize = input.windowSize ?? connectorDefaults.windowSize;
  wholeNumber('window size', windowSize, 1, MAX_WINDOW_SIZE);
  return {
    accountId: input.accountId,
    name,
    host: input.host,
    port: input.port,
    systemId: input.systemId,
    password: input.password,
    systemType,
    bindMode,
    source,
    destination,
    throughputPerSecond,
    windowSize,
  };
}

export function isSmppBindMode(value: string): value is SmppBindMode {
  return (smppBindModes as readonly string[]).includes(value);
}

function ton(label: string, value: number | undefined): number {
  const chosen = value ?? connectorDefaults.ton;
  wholeNumber(label, chosen, 0, SMPP_TON_MAX);
  return chosen;
}

function npi(label: string, value: number | undefined): number {
  const chosen = value ?? connectorDefaults.npi;
  wholeNumber(label, chosen, 0, SMPP_NPI_MAX);
  return chosen;
}

function wholeNumber(label: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(`${label} must be a whole number from ${min} to ${max}; got ${value}`);
}

function asciiField(label: string, value: string, min: number, max: number): void {
  if (!PRINTABLE_ASCII.test(value)) throw invalid(`the ${label} must be printable ASCII (SMPP 3.4 C-Octet String); got ${JSON.stringify(value)}`);
  if (value.length < min || value.length > max) {
    throw invalid(`the ${label} is ${min === 0 ? 'at most' : `${min} to`} ${max} characters in SMPP 3.4; got ${value.length}`);
  }
}
