import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { type DeliveryReceipt, parseDeliveryReceipt } from './delivery-receipt';
import { type EncodedMessage, encodeMessage } from './message-encoding';
import { MoReassembler, concatenationInfo } from './mo-reassembly';
import { E164_ADDRESS_TYPE, type SmppAddress, type SmppAddressType, relativeValidityPeriod } from './smpp-address';
import { EsmClass, SmppStatus, type SmppPdu, type SmppSession, type SmppShortMessage, connectSmpp, describeCommandStatus } from './smpp-facade';
import {
  SmppBindClosedError,
  SmppBindLostError,
  SmppBindRejectedError,
  type SmppPartError,
  SmppSubmitRejectedError,
  SmppValidityElapsedError,
} from './smpp.errors';
import { TokenBucket, backoffDelay } from './token-bucket';

export type SmppBindState = 'connecting' | 'bound' | 'closed';

export interface SmppBindOptions {
  readonly host: string;
  readonly port: number;
  readonly systemId: string;
  readonly password: string;
  readonly systemType?: string;
  /** TON/NPI for source addresses (bind address_range and submit_sm source). Default 1/1 (international, ISDN). */
  readonly source?: SmppAddressType;
  /** TON/NPI for destination addresses. Default 1/1. */
  readonly destination?: SmppAddressType;
  /** enquire_link period while bound. Default 30 s. */
  readonly enquireLinkIntervalMs?: number;
  /**
   * A missing bind_resp, enquire_link_resp or submit_sm_resp after this long closes the
   * connection and reconnects; parts without a resp then fail with `SmppBindLostError`, so the
   * caller sends them again. Default 10 s.
   */
  readonly responseTimeoutMs?: number;
  /** Reconnect backoff (exponential, equal jitter). Default 500 ms doubling to 30 s. */
  readonly reconnect?: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  /** Max submit_sm without a submit_sm_resp. Default 100. */
  readonly windowSize?: number;
  /** submit_sm per second (token bucket, burst rate/10). Default 100. */
  readonly throughputPerSecond?: number;
  /** After an ESME_RTHROTTLED or ESME_RMSGQFUL resp no submit_sm goes out for this long. Default 1 s. */
  readonly throttlePauseMs?: number;
  /**
   * The parts of a concatenated MO are acknowledged together once the whole message is handled;
   * a part held longer than this is acknowledged on its own (before the SMSC's response timer
   * runs out). Default 10 s.
   */
  readonly moPartHoldMs?: number;
  readonly logger: Logger;
  /** In [0, 1): jitter and concatenation references. Default Math.random. */
  readonly random?: () => number;
}

export interface SmppOutboundMessage {
  readonly source: string;
  readonly destination: string;
  readonly body: string;
}

export interface SmppSubmitResult {
  /** The carrier message id of each part, in part order; receipts arrive per part. */
  readonly messageIds: readonly string[];
}

/** Some or all parts of an encoded message, to submit one submit_sm per part. */
export interface SmppPartsSubmit {
  /** A plain string goes out as is with the bind's source TON/NPI. */
  readonly source: string | SmppAddress;
  readonly destination: string | SmppAddress;
  /** Encoded once per message (`encodeMessage(body, bind.nextReference())`) and kept: a re-submitted part must carry the same UDH reference. */
  readonly message: EncodedMessage;
  /** The 1-based parts to send; default every part. */
  readonly parts?: readonly number[];
  /**
   * End of the message's validity: each part carries the time left when it goes out as a relative
   * validity_period (so the SMSC expires it), and a part still queued when it is over is not sent.
   */
  readonly expiresAt?: Date | null;
  /**
   * Called for each part the moment its outcome is known (in the resp's own tick, before the
   * SMSC's next PDU is handled): a receipt can follow the resp immediately, even before the
   * other parts' resps.
   */
  readonly onPart?: (result: SmppPartResult) => void;
}

/** What became of one part: the SMSC's id for it, or why it has none. */
export type SmppPartResult =
  | { readonly seq: number; readonly ok: true; readonly messageId: string }
  | { readonly seq: number; readonly ok: false; readonly error: SmppPartError };

export interface SmppMoMessage {
  readonly source: string;
  readonly sourceTon: number | null;
  readonly destination: string;
  readonly destinationTon: number | null;
  readonly text: string;
  readonly dataCoding: number;
  /** The concatenation UDH of a multi-part MO, null for a single part. */
  readonly concatenation: { readonly reference: number; readonly total: number } | null;
  /** TLV user_message_reference when the SMSC sends it (often the handset's TP-MR). */
  readonly userMessageReference: number | null;
  /** When the (first part of the) message arrived, epoch ms. */
  readonly receivedAt: number;
}

export type SmppFinalReceipt = Extract<DeliveryReceipt, { kind: 'final' }>;

/**
 * Answers the deliver_sm(s) an event came from: 0 (the default) accepts them; ESME_RX_T_APPN
 * (0x64) asks the SMSC to send them again later; ESME_RX_P_APPN (0x65) refuses them for good.
 * Only the first call counts. A deliver_sm whose connection has dropped in the meantime cannot
 * be answered: the SMSC sends it again on the next bind.
 */
export type DeliverSmAck = (commandStatus?: number) => void;

export interface SmppBindEvents {
  state: [SmppBindState];
  /**
   * Final receipts only (delivered / undelivered); intermediate ones are acknowledged and dropped.
   * A listener must call the ack once the receipt is durably handled; without a listener the
   * bind accepts receipts at once.
   */
  receipt: [SmppFinalReceipt, DeliverSmAck];
  /** MO messages, concatenated parts reassembled; the same ack contract as `receipt`. */
  mo: [SmppMoMessage, DeliverSmAck];
}

interface QueuedPart {
  readonly seq: number;
  readonly options: Readonly<Record<string, unknown>>;
  readonly expiresAt: Date | null;
  readonly settle: (result: SmppPartResult) => void;
}

/**
 * One transceiver bind to a carrier SMSC. Keeps itself bound (enquire_link keep-alive, reconnect
 * with backoff after any drop) until `close()`. Submits are queued FIFO and sent while bound,
 * within the window and the throughput cap; each part reports on its own, so a caller whose
 * bind dropped after some parts were accepted keeps their ids and re-submits only the rest.
 *
 * Every part asks for a receipt (registered_delivery = 1): a multi-part message counts as
 * delivered only when all its parts are, and an SMSC that receipts only some parts cannot be
 * told apart from a lost part otherwise.
 *
 * deliver_sm (receipts, MO) is answered when the consumer says so (`DeliverSmAck`): the SMSC
 * keeps a receipt or MO until it was durably recorded, and sends it again otherwise.
 */
export class SmppBind extends EventEmitter<SmppBindEvents> {
  private currentState: SmppBindState = 'connecting';
  private session: SmppSession | null = null;
  private attempt = 0;
  private everBound = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private enquireTimer: NodeJS.Timeout | null = null;
  private respWatchTimer: NodeJS.Timeout | null = null;
  private pumpTimer: NodeJS.Timeout | null = null;
  private moHoldTimer: NodeJS.Timeout | null = null;
  private throttledUntil = 0;
  private readonly queue: QueuedPart[] = [];
  /** Parts sent and waiting for their submit_sm_resp, oldest first, with when they were sent. */
  private readonly inFlight = new Map<QueuedPart, number>();
  private readonly bucket: TokenBucket;
  private readonly reassembler = new MoReassembler<DeliverSmAck>(10 * 60_000);
  private reference: number;
  private readonly random: () => number;
  private readonly log: Logger;
  private firstBind: { resolve: () => void; reject: (error: Error) => void } | null = null;

  constructor(private readonly options: SmppBindOptions) {
    super();
    this.random = options.random ?? Math.random;
    this.reference = Math.floor(this.random() * 256);
    const rate = options.throughputPerSecond ?? 100;
    this.bucket = new TokenBucket(rate, Math.max(1, Math.ceil(rate / 10)), Date.now());
    this.log = options.logger.child({ smppBind: `${options.systemId}@${options.host}:${options.port}` });
  }

  get state(): SmppBindState {
    return this.currentState;
  }

  /** Submit_sm sent and not yet answered. */
  get outstanding(): number {
    return this.inFlight.size;
  }

  /** Parts waiting for the window, the throughput cap or a throttling pause. */
  get queued(): number {
    return this.queue.length;
  }

  /** The next 8-bit concatenation reference: consecutive messages of this bind never share one (within 256). */
  nextReference(): number {
    const reference = this.reference;
    this.reference = (this.reference + 1) & 0xff;
    return reference;
  }

  /**
   * Connects and binds. Resolves once bound; rejects with `SmppBindRejectedError` when the SMSC
   * refuses the first bind (wrong credentials are configuration, not a transient), after which the
   * bind is closed. Connection failures are retried with backoff (the promise waits).
   */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.firstBind = { resolve, reject };
      this.connect();
    });
  }

  /** Sends every part; resolves with the carrier ids, rejects with the first failed part's typed error. */
  async submit(message: SmppOutboundMessage): Promise<SmppSubmitResult> {
    const results = await this.submitParts({
      source: message.source,
      destination: message.destination,
      message: encodeMessage(message.body, this.nextReference()),
    });
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) throw failed.error;
    return { messageIds: results.map((r) => (r.ok ? r.messageId : '')) };
  }

  /**
   * Queues one submit_sm per requested part; resolves (never rejects) once every part has its
   * outcome, in the order of `parts`. A part fails with `SmppBindLostError` (not bound, or the bind
   * dropped before its resp: the SMSC may or may not have it), `SmppSubmitRejectedError`,
   * `SmppValidityElapsedError` or `SmppBindClosedError`.
   */
  submitParts(request: SmppPartsSubmit): Promise<readonly SmppPartResult[]> {
    const { message } = request;
    const seqs = request.parts ?? message.parts.map((p) => p.seq);
    const immediate = (error: (seq: number) => SmppPartError): Promise<SmppPartResult[]> => {
      const results = seqs.map((seq): SmppPartResult => ({ seq, ok: false, error: error(seq) }));
      for (const result of results) request.onPart?.(result);
      return Promise.resolve(results);
    };
    if (this.currentState === 'closed') return immediate(() => new SmppBindClosedError());
    if (this.currentState !== 'bound') return immediate(() => new SmppBindLostError('not bound'));
    const source = addressOf(request.source, this.options.source ?? E164_ADDRESS_TYPE);
    const destination = addressOf(request.destination, this.options.destination ?? E164_ADDRESS_TYPE);
    const parts = seqs.map((seq) => {
      const part = message.parts.find((p) => p.seq === seq);
      if (!part) throw new RangeError(`part ${seq} is not a part of the message (1–${message.parts.length})`);
      return part;
    });
    const promises = parts.map((part) => {
      const { seq } = part;
      return new Promise<SmppPartResult>((resolve) => {
        this.queue.push({
          seq,
          settle: (result) => {
            try {
              request.onPart?.(result);
            } finally {
              resolve(result);
            }
          },
          expiresAt: request.expiresAt ?? null,
          options: {
            source_addr_ton: source.ton,
            source_addr_npi: source.npi,
            source_addr: source.addr,
            dest_addr_ton: destination.ton,
            dest_addr_npi: destination.npi,
            destination_addr: destination.addr,
            esm_class: part.udh ? EsmClass.UDH_INDICATOR : 0,
            registered_delivery: 1,
            data_coding: message.dataCoding,
            short_message: part.shortMessage,
          },
        });
      });
    });
    this.pump();
    return Promise.all(promises);
  }

  /** Unbinds (best effort) and stops reconnecting; queued and in-flight submits fail with `SmppBindClosedError`. */
  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.setState('closed');
    this.clearTimers();
    this.failAll(() => new SmppBindClosedError());
    this.firstBind?.reject(new SmppBindClosedError());
    this.firstBind = null;
    const session = this.session;
    this.session = null;
    if (!session) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      // A polite unbind, but never wait on the SMSC for long.
      const timer = setTimeout(() => session.destroy(), 1000);
      session.once('close', done);
      if (!session.socket.writable || !session.unbind({}, () => session.close())) session.destroy();
    });
  }

  private setState(state: SmppBindState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.log.info({ state }, 'smpp bind state');
    this.emit('state', state);
  }

  private connect(): void {
    if (this.currentState === 'closed') return;
    this.setState('connecting');
    const session = connectSmpp(this.options.host, this.options.port);
    this.session = session;
    const responseTimeoutMs = this.options.responseTimeoutMs ?? 10_000;
    let bindTimer: NodeJS.Timeout | null = null;

    session.on('connect', () => {
      bindTimer = setTimeout(() => {
        this.log.warn('no bind_transceiver_resp in time, reconnecting');
        session.destroy();
      }, responseTimeoutMs);
      const source = this.options.source ?? E164_ADDRESS_TYPE;
      session.bind_transceiver(
        {
          system_id: this.options.systemId,
          password: this.options.password,
          system_type: this.options.systemType ?? '',
          addr_ton: source.ton,
          addr_npi: source.npi,
        },
        (pdu) => {
          if (bindTimer) clearTimeout(bindTimer);
          if (this.session !== session) return;
          if (pdu.command_status !== 0) {
            const error = new SmppBindRejectedError(pdu.command_status);
            this.log.warn({ commandStatus: pdu.command_status, status: describeCommandStatus(pdu.command_status) }, 'bind rejected');
            if (!this.everBound && this.firstBind) {
              this.firstBind.reject(error);
              this.firstBind = null;
              void this.close();
              return;
            }
            session.destroy(); // later rejections (SMSC restarting, …) retry with backoff
            return;
          }
          this.everBound = true;
          this.attempt = 0;
          this.setState('bound');
          this.startEnquireLink(session);
          this.startResponseWatch(session);
          this.firstBind?.resolve();
          this.firstBind = null;
          this.pump();
        },
      );
    });
    session.on('pdu', (pdu: SmppPdu) => this.safely(() => this.onPdu(session, pdu)));
    session.on('error', (error: Error) => {
      this.log.warn({ err: error }, 'smpp connection error');
      session.destroy();
    });
    session.on('close', () => {
      if (bindTimer) clearTimeout(bindTimer);
      if (this.session !== session) return;
      this.session = null;
      this.onDrop('connection closed');
    });
  }

  private onDrop(reason: string): void {
    if (this.enquireTimer) clearInterval(this.enquireTimer);
    if (this.respWatchTimer) clearInterval(this.respWatchTimer);
    this.enquireTimer = this.respWatchTimer = null;
    this.failAll(() => new SmppBindLostError(reason));
    if (this.currentState === 'closed') return;
    this.setState('connecting');
    const delay = backoffDelay(this.options.reconnect ?? { initialDelayMs: 500, maxDelayMs: 30_000 }, this.attempt, this.random());
    this.attempt += 1;
    this.log.info({ delayMs: delay, attempt: this.attempt, reason }, 'smpp reconnect scheduled');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private startEnquireLink(session: SmppSession): void {
    const interval = this.options.enquireLinkIntervalMs ?? 30_000;
    const timeout = this.options.responseTimeoutMs ?? 10_000;
    this.enquireTimer = setInterval(() => {
      const timer = setTimeout(() => {
        this.log.warn('no enquire_link_resp in time, reconnecting');
        session.destroy();
      }, timeout);
      session.enquire_link({}, () => clearTimeout(timer));
      session.once('close', () => clearTimeout(timer));
    }, interval);
  }

  /**
   * An SMSC that keeps the link alive but never answers a submit_sm would leave its part, and
   * the message, waiting for ever: when the oldest part in flight has waited longer than the
   * response timeout, the connection is dropped and the unanswered parts fail as lost.
   */
  private startResponseWatch(session: SmppSession): void {
    const timeout = this.options.responseTimeoutMs ?? 10_000;
    this.respWatchTimer = setInterval(
      () => {
        const oldest = this.inFlight.values().next();
        if (oldest.done || Date.now() - oldest.value < timeout || this.session !== session) return;
        this.log.warn({ inFlight: this.inFlight.size, timeoutMs: timeout }, 'no submit_sm_resp in time, reconnecting');
        session.destroy();
      },
      Math.max(50, Math.min(1000, Math.floor(timeout / 4))),
    );
  }

  /** FIFO: sends queued parts while bound, within the window, the throughput cap and any throttling pause. */
  private pump(): void {
    if (this.pumpTimer) return;
    const windowSize = this.options.windowSize ?? 100;
    while (this.queue.length > 0 && this.currentState === 'bound' && this.session && this.inFlight.size < windowSize) {
      const now = Date.now();
      const wait = this.throttledUntil > now ? this.throttledUntil - now : this.bucket.take(now);
      if (wait > 0) {
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = null;
          this.pump();
        }, wait);
        return;
      }
      const part = this.queue.shift();
      if (!part) return;
      this.sendPart(this.session, part);
    }
  }

  private sendPart(session: SmppSession, part: QueuedPart): void {
    let options = part.options;
    if (part.expiresAt) {
      // Relative validity, computed as the part leaves: the SMSC expires it when our validity ends.
      const remainingMs = part.expiresAt.getTime() - Date.now();
      if (remainingMs < 1000) {
        part.settle({ seq: part.seq, ok: false, error: new SmppValidityElapsedError(part.seq) });
        return;
      }
      options = { ...options, validity_period: relativeValidityPeriod(remainingMs / 1000) };
    }
    this.inFlight.set(part, Date.now());
    const sent = session.submit_sm(options, (resp) => {
      if (!this.inFlight.delete(part)) return; // already failed by a drop
      const status = resp.command_status;
      if (status === SmppStatus.ESME_RTHROTTLED || status === SmppStatus.ESME_RMSGQFUL) {
        const pauseMs = this.options.throttlePauseMs ?? 1000;
        this.throttledUntil = Date.now() + pauseMs;
        this.log.warn({ status: describeCommandStatus(status), pauseMs }, 'SMSC throttling: pausing submits');
      }
      if (status !== 0) part.settle({ seq: part.seq, ok: false, error: new SmppSubmitRejectedError(status, part.seq) });
      else part.settle({ seq: part.seq, ok: true, messageId: resp.message_id ?? '' });
      this.pump();
    });
    if (!sent) {
      this.inFlight.delete(part);
      part.settle({ seq: part.seq, ok: false, error: new SmppBindLostError('socket not writable') });
    }
  }

  private failAll(error: () => SmppPartError): void {
    for (const part of [...this.inFlight.keys(), ...this.queue]) part.settle({ seq: part.seq, ok: false, error: error() });
    this.inFlight.clear();
    this.queue.length = 0;
  }

  private onPdu(session: SmppSession, pdu: SmppPdu): void {
    switch (pdu.command) {
      case 'deliver_sm':
        this.onDeliverSm(pdu, this.ackFor(session, pdu));
        return;
      case 'enquire_link':
        session.send(pdu.response());
        return;
      case 'unbind':
        session.send(pdu.response());
        session.close();
        return;
      default:
        return;
    }
  }

  /** The deliver_sm_resp of one PDU, sent once, on the connection the PDU came on. */
  private ackFor(session: SmppSession, pdu: SmppPdu): DeliverSmAck {
    let answered = false;
    return (commandStatus = 0) => {
      if (answered) return;
      answered = true;
      if (this.session !== session || !session.socket.writable) {
        this.log.debug({ sequenceNumber: pdu.sequence_number }, 'deliver_sm not answered: its connection is gone (the SMSC re-sends it)');
        return;
      }
      session.send(pdu.response(commandStatus === 0 ? {} : { command_status: commandStatus }));
    };
  }

  private onDeliverSm(pdu: SmppPdu, ack: DeliverSmAck): void {
    const { text, udh } = messageOf(pdu);
    if (((pdu.esm_class ?? 0) & EsmClass.MESSAGE_TYPE_MASK) === EsmClass.DELIVERY_RECEIPT) {
      const parsed = parseDeliveryReceipt({ text, receiptedMessageId: pdu.receipted_message_id, messageState: pdu.message_state });
      if (!parsed.ok) {
        // Asking again would bring the same text: accepted, and logged for the operator.
        this.log.warn({ err: parsed.error }, 'malformed delivery receipt dropped');
        ack();
        return;
      }
      if (parsed.receipt.kind === 'intermediate') {
        this.log.debug({ receipt: parsed.receipt }, 'intermediate receipt ignored');
        ack();
        return;
      }
      this.deliver('receipt', parsed.receipt, ack);
      return;
    }
    const source = pdu.source_addr ?? '';
    const destination = pdu.destination_addr ?? '';
    const info = concatenationInfo(udh);
    const now = Date.now();
    const whole = info
      ? this.reassembler.add(`${source}>${destination}`, info, text, now, ack)
      : { text, tokens: [ack], firstSeen: now };
    if (whole === null) {
      this.scheduleMoHoldRelease();
      return;
    }
    const acks = whole.tokens;
    const mo: SmppMoMessage = {
      source,
      sourceTon: pdu.source_addr_ton ?? null,
      destination,
      destinationTon: pdu.dest_addr_ton ?? null,
      text: whole.text,
      dataCoding: pdu.data_coding ?? 0,
      concatenation: info && info.total > 1 ? { reference: info.reference, total: info.total } : null,
      userMessageReference: pdu.user_message_reference ?? null,
      receivedAt: whole.firstSeen,
    };
    this.deliver('mo', mo, (status) => acks.forEach((a) => a(status)));
  }

  private deliver<K extends 'receipt' | 'mo'>(event: K, value: SmppBindEvents[K][0], ack: DeliverSmAck): void {
    if (this.listenerCount(event) === 0) {
      ack();
      return;
    }
    try {
      (this.emit as (e: K, v: SmppBindEvents[K][0], a: DeliverSmAck) => boolean)(event, value, ack);
    } catch (error) {
      this.log.error({ err: error, event }, 'deliver_sm listener failed; asking the SMSC to send it again');
      ack(SmppStatus.ESME_RX_T_APPN);
    }
  }

  /** Acknowledges parts of concatenated MOs that waited too long for their other parts. */
  private scheduleMoHoldRelease(): void {
    if (this.moHoldTimer) return;
    const holdMs = this.options.moPartHoldMs ?? 10_000;
    this.moHoldTimer = setTimeout(() => {
      this.moHoldTimer = null;
      const stale = this.reassembler.releaseStale(Date.now(), holdMs);
      if (stale.length > 0) this.log.info({ parts: stale.length }, 'acknowledging MO parts still waiting for the rest of their message');
      for (const ack of stale) ack();
      if (this.reassembler.heldTokens > 0) this.scheduleMoHoldRelease();
    }, holdMs);
  }

  private safely(handler: () => void): void {
    try {
      handler();
    } catch (error) {
      // A throwing handler must not take the connection (and every in-flight submit) down.
      this.log.error({ err: error }, 'smpp pdu handler failed');
    }
  }

  private clearTimers(): void {
    for (const timer of [this.reconnectTimer, this.pumpTimer, this.moHoldTimer]) if (timer) clearTimeout(timer);
    if (this.enquireTimer) clearInterval(this.enquireTimer);
    if (this.respWatchTimer) clearInterval(this.respWatchTimer);
    this.reconnectTimer = this.pumpTimer = this.enquireTimer = this.respWatchTimer = this.moHoldTimer = null;
  }
}

function addressOf(address: string | SmppAddress, type: SmppAddressType): SmppAddress {
  return typeof address === 'string' ? { addr: address, ...type } : address;
}

/** The decoded short_message (or message_payload): the package decodes it per data_coding. */
function messageOf(pdu: SmppPdu): { readonly text: string; readonly udh: readonly Buffer[] | undefined } {
  const raw = pdu.message_payload ?? pdu.short_message;
  if (raw === undefined) return { text: '', udh: undefined };
  if (Buffer.isBuffer(raw)) return { text: raw.toString('latin1'), udh: undefined };
  const sm: SmppShortMessage = raw;
  return { text: typeof sm.message === 'string' ? sm.message : sm.message.toString('latin1'), udh: sm.udh };
}
