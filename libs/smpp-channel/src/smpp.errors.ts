import { SmppStatus, describeCommandStatus } from './smpp-facade';

/**
 * The ways the SMPP channel fails, each with a stable `code`. The caller decides retries:
 * a lost bind is retryable (the message may or may not have reached the SMSC, see README),
 * a rejected submit carries the SMSC's command_status, a rejected bind is a configuration fact.
 */
export type SmppErrorCode =
  | 'SMPP_BIND_LOST'
  | 'SMPP_SUBMIT_REJECTED'
  | 'SMPP_BIND_REJECTED'
  | 'SMPP_MALFORMED_RECEIPT'
  | 'SMPP_BIND_CLOSED'
  | 'SMPP_VALIDITY_ELAPSED';

/** The bind dropped (or was not bound) before submit_sm_resp arrived: retry, on this bind once it is back or elsewhere. */
export class SmppBindLostError extends Error {
  readonly code = 'SMPP_BIND_LOST';
  override readonly name = 'SmppBindLostError';

  constructor(readonly reason: string) {
    super(`SMPP bind lost: ${reason}`);
  }
}

/** close() was called: the bind will not come back. */
export class SmppBindClosedError extends Error {
  readonly code = 'SMPP_BIND_CLOSED';
  override readonly name = 'SmppBindClosedError';

  constructor() {
    super('SMPP bind closed');
  }
}

/** The SMSC answered submit_sm with a non-zero command_status. */
export class SmppSubmitRejectedError extends Error {
  readonly code = 'SMPP_SUBMIT_REJECTED';
  override readonly name = 'SmppSubmitRejectedError';

  constructor(
    readonly commandStatus: number,
    readonly part: number,
  ) {
    super(`SMSC rejected submit_sm (part ${part}): ${describeCommandStatus(commandStatus)}`);
  }

  /**
   * Throttled (0x58), message queue full (0x14) or system error (0x08): the SMSC may take the
   * same part later. Any other status is a verdict on the message.
   */
  get transient(): boolean {
    return TRANSIENT_SUBMIT_STATUSES.has(this.commandStatus);
  }

  /** `ESME_RTHROTTLED (0x00000058)`. */
  get statusName(): string {
    return describeCommandStatus(this.commandStatus);
  }
}

const TRANSIENT_SUBMIT_STATUSES: ReadonlySet<number> = new Set([SmppStatus.ESME_RTHROTTLED, SmppStatus.ESME_RMSGQFUL, SmppStatus.ESME_RSYSERR]);

/** The message's validity ended while the part waited in the bind's queue: it was not sent. */
export class SmppValidityElapsedError extends Error {
  readonly code = 'SMPP_VALIDITY_ELAPSED';
  override readonly name = 'SmppValidityElapsedError';

  constructor(readonly part: number) {
    super(`Validity period elapsed before part ${part} could be submitted`);
  }
}

/** What a part of a submit can fail with (the bind never throws anything else for a part). */
export type SmppPartError = SmppBindLostError | SmppBindClosedError | SmppSubmitRejectedError | SmppValidityElapsedError;

/** The SMSC answered bind_transceiver with a non-zero command_status (bad system_id/password, …). */
export class SmppBindRejectedError extends Error {
  readonly code = 'SMPP_BIND_REJECTED';
  override readonly name = 'SmppBindRejectedError';

  constructor(readonly commandStatus: number) {
    super(`SMSC rejected bind_transceiver: ${describeCommandStatus(commandStatus)}`);
  }
}

/** A deliver_sm flagged as a receipt whose text and TLVs do not make a receipt. */
export class SmppMalformedReceiptError extends Error {
  readonly code = 'SMPP_MALFORMED_RECEIPT';
  override readonly name = 'SmppMalformedReceiptError';

  constructor(
    readonly reason: string,
    readonly text: string,
  ) {
    super(`Malformed delivery receipt (${reason}): ${JSON.stringify(text.slice(0, 200))}`);
  }
}
