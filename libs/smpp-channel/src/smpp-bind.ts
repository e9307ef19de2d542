import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { type DeliveryReceipt, parseDeliveryReceipt } from './delivery-receipt';
import { encodeMessage } from './message-encoding';
import { MoReassembler, concatenationInfo } from './mo-reassembly';
import { EsmClass, type SmppPdu, type SmppSession, type SmppShortMessage, connectSmpp } from './smpp-facade';
import { SmppBindClosedError, SmppBindLostError, SmppBindRejectedError, SmppSubmitRejectedError } from './smpp.errors';
import { TokenBucket, backoffDelay } from './token-bucket';

export type SmppBindState = 'connecting' | 'bound' | 'closed';

export interface SmppAddressType {
  readonly ton: number;
  readonly npi: number;
}

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
  /** A missing enquire_link_resp (or bind_resp) after this long closes the connection and reconnects. Default 10 s. */
  readonly responseTimeoutMs?: number;
  /** Reconnect backoff (exponential, equal jitter). Default 500 ms doubling to 30 s. */
  readonly reconnect?: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  /** Max submit_sm without a submit_sm_resp. Default 100. */
  readonly windowSize?: number;
  /** submit_sm per second (token bucket, burst rate/10). Default 100. */
  readonly throughputPerSecond?: number;
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

export interface SmppMoMessage {
  readonly source: string;
  readonly destination: string;
  readonly text: string;
  readonly dataCoding: number;
}

export interface SmppBindEvents {
  state: [SmppBindState];
  /** Final receipts only (delivered / undelivered); intermediate ones are logged and dropped. */
  receipt: [Extract<DeliveryReceipt, { kind: 'final' }>];
  mo: [SmppMoMessage];
}

interface QueuedPart {
  readonly options: Readonly<Record<string, unknown>>;
  readonly seq: number;
  readonly resolve: (messageId: string) => void;
  readonly reject: (error: Error) => void;
}

/**
 * One transceiver bind to a carrier SMSC. Keeps itself bound (enquire_link keep-alive, reconnect
 * with backoff after any drop) until `close()`. Submits are queued FIFO and sent while bound,
 * within the window and the throughput cap; a submit whose bind drops before its resp rejects
 * with `SmppBindLostError` (the caller retries: the SMSC may or may not have accepted it).
 *
 * Every part asks for a receipt (registered_delivery = 1): a multi-part message counts as
 * delivered only when all its parts are, and an SMSC that receipts only some parts cannot be
 * told apart from a lost part otherwise.
 */
export class SmppBind extends EventEmitter<SmppBindEvents> {
  private currentState: SmppBindState = 'connecting';
  private session: SmppSession | null = null;
  private attempt = 0;
  private everBound = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private enquireTimer: NodeJS.Timeout | null = null;
  private pumpTimer: NodeJS.Timeout | null = null;
  private readonly queue: QueuedPart[] = [];
  private readonly inFlight = new Set<QueuedPart>();
  private readonly bucket: TokenBucket;
  private readonly reassembler = new MoReassembler(10 * 60_000);
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

  /** Sends every part; resolves with the carrier ids, rejects with the first part's typed error. */
  submit(message: SmppOutboundMessage): Promise<SmppSubmitResult> {
    if (this.currentState === 'closed') return Promise.reject(new SmppBindClosedError());
    if (this.currentState !== 'bound') return Promise.reject(new SmppBindLostError('not bound'));
    const reference = this.reference;
    this.reference = (this.reference + 1) & 0xff;
    const { dataCoding, parts } = encodeMessage(message.body, reference);
    const source = this.options.source ?? { ton: 1, npi: 1 };
    const destination = this.options.destination ?? { ton: 1, npi: 1 };
    const promises = parts.map(
      (part) =>
        new Promise<string>((resolve, reject) => {
          this.queue.push({
            seq: part.seq,
            resolve,
            reject,
            options: {
              source_addr_ton: source.ton,
              source_addr_npi: source.npi,
              source_addr: message.source,
              dest_addr_ton: destination.ton,
              dest_addr_npi: destination.npi,
              destination_addr: message.destination,
              esm_class: part.udh ? EsmClass.UDH_INDICATOR : 0,
              registered_delivery: 1,
              data_coding: dataCoding,
              short_message: part.shortMessage,
            },
          });
        }),
    );
    this.pump();
    return Promise.all(promises).then((messageIds) => ({ messageIds }));
  }

  /** Unbinds (best effort) and stops reconnecting; queued and in-flight submits reject. */
  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.setState('closed');
    this.clearTimers();
    this.failAll(new SmppBindClosedError());
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
      const source = this.options.source ?? { ton: 1, npi: 1 };
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
            this.log.error({ commandStatus: pdu.command_status }, 'bind rejected');
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
    this.enquireTimer = null;
    this.failAll(new SmppBindLostError(reason));
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

  /** FIFO: sends queued parts while bound, within the window and the throughput cap. */
  private pump(): void {
    if (this.pumpTimer) return;
    const windowSize = this.options.windowSize ?? 100;
    while (this.queue.length > 0 && this.currentState === 'bound' && this.session && this.inFlight.size < windowSize) {
      const wait = this.bucket.take(Date.now());
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
    this.inFlight.add(part);
    const sent = session.submit_sm(part.options, (resp) => {
      if (!this.inFlight.delete(part)) return; // already failed by a drop
      if (resp.command_status !== 0) part.reject(new SmppSubmitRejectedError(resp.command_status, part.seq));
      else part.resolve(resp.message_id ?? '');
      this.pump();
    });
    if (!sent) {
      this.inFlight.delete(part);
      part.reject(new SmppBindLostError('socket not writable'));
    }
  }

  private failAll(error: Error): void {
    for (const part of [...this.inFlight, ...this.queue]) part.reject(error);
    this.inFlight.clear();
    this.queue.length = 0;
  }

  private onPdu(session: SmppSession, pdu: SmppPdu): void {
    switch (pdu.command) {
      case 'deliver_sm':
        session.send(pdu.response());
        this.onDeliverSm(pdu);
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

  private onDeliverSm(pdu: SmppPdu): void {
    const { text, udh } = messageOf(pdu);
    if (((pdu.esm_class ?? 0) & EsmClass.MESSAGE_TYPE_MASK) === EsmClass.DELIVERY_RECEIPT) {
      const parsed = parseDeliveryReceipt({ text, receiptedMessageId: pdu.receipted_message_id, messageState: pdu.message_state });
      if (!parsed.ok) {
        this.log.warn({ err: parsed.error }, 'malformed delivery receipt dropped');
        return;
      }
      if (parsed.receipt.kind === 'intermediate') {
        this.log.debug({ receipt: parsed.receipt }, 'intermediate receipt ignored');
        return;
      }
      this.emit('receipt', parsed.receipt);
      return;
    }
    const source = pdu.source_addr ?? '';
    const destination = pdu.destination_addr ?? '';
    const info = concatenationInfo(udh);
    const whole = info ? this.reassembler.add(`${source}>${destination}`, info, text, Date.now()) : text;
    if (whole === null) return;
    this.emit('mo', { source, destination, text: whole, dataCoding: pdu.data_coding ?? 0 });
  }

  private safely(handler: () => void): void {
    try {
      handler();
    } catch (error) {
      // A throwing listener must not take the connection (and every in-flight submit) down.
      this.log.error({ err: error }, 'smpp pdu handler failed');
    }
  }

  private clearTimers(): void {
    for (const timer of [this.reconnectTimer, this.pumpTimer]) if (timer) clearTimeout(timer);
    if (this.enquireTimer) clearInterval(this.enquireTimer);
    this.reconnectTimer = this.pumpTimer = this.enquireTimer = null;
  }
}

/** The decoded short_message (or message_payload): the package decodes it per data_coding. */
function messageOf(pdu: SmppPdu): { readonly text: string; readonly udh: readonly Buffer[] | undefined } {
  const raw = pdu.message_payload ?? pdu.short_message;
  if (raw === undefined) return { text: '', udh: undefined };
  if (Buffer.isBuffer(raw)) return { text: raw.toString('latin1'), udh: undefined };
  const sm: SmppShortMessage = raw;
  return { text: typeof sm.message === 'string' ? sm.message : sm.message.toString('latin1'), udh: sm.udh };
}
