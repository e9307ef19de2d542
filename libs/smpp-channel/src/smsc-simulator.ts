import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { formatDeliveryReceipt, receiptDateOf } from './delivery-receipt';
import { encodeMessage } from './message-encoding';
import { EsmClass, SmppStatus, type SmppPdu, type SmppServer, type SmppSession, createSmppServer } from './smpp-facade';

export type SimulatedDlrOutcome = 'delivered' | 'undelivered' | 'expired' | 'rejected' | 'deleted' | 'unknown' | 'mixed';

export const simulatedDlrOutcomes: readonly SimulatedDlrOutcome[] = ['delivered', 'undelivered', 'expired', 'rejected', 'deleted', 'unknown', 'mixed'];

export interface SmscSimulatorOptions {
  readonly systemId: string;
  readonly password: string;
  /** 0 picks an ephemeral port. */
  readonly port?: number;
  readonly host?: string;
  /** Delay before the delivery receipt of an accepted submit. Default 0. */
  readonly dlrDelayMs?: number;
  readonly dlrOutcome?: SimulatedDlrOutcome;
  /** Share of submits answered with ESME_RSUBMITFAIL, 0–1. Default 0. */
  readonly rejectRate?: number;
  /** Delay before each submit_sm_resp (to exercise the client's window). Default 0. */
  readonly submitRespDelayMs?: number;
  /** Receipts carry the receipted_message_id and message_state TLVs besides the text. Default true. */
  readonly receiptTlvs?: boolean;
  /** Accepted submits asking for one get a receipt. Default true (false: only `injectReceipt`). */
  readonly autoReceipts?: boolean;
  /** A deliver_sm answered with a non-zero status is sent again after this long. Default 1000 ms. */
  readonly redeliverDelayMs?: number;
  /** How often a deliver_sm answered with a non-zero status is sent again. Default 3. */
  readonly redeliverAttempts?: number;
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** What the simulator saw of one submit_sm, for assertions. */
export interface RecordedSubmit {
  readonly messageId: string | null;
  readonly source: string;
  readonly sourceTon: number;
  readonly destination: string;
  readonly dataCoding: number;
  readonly esmClass: number;
  readonly registeredDelivery: number;
  /** The UDH information elements, hex, e.g. `0003 2a0201` → ['00032a0201']. */
  readonly udh: readonly string[];
  readonly text: string;
  /** validity_period as the package decodes it (relative periods become a Date from now), null when absent. */
  readonly validityPeriod: Date | null;
  readonly receivedAt: number;
}

/** How the simulator answers one submit_sm (see `submitPolicy`). */
export interface SimulatedSubmitResponse {
  /** command_status of the resp; non-zero: no id, no receipt. Default 0. */
  readonly commandStatus?: number;
  /** Delay before the resp. Default `submitRespDelayMs`. */
  readonly delayMs?: number;
  /** Never answer: the resp is "lost"; only a dropped connection ends the client's wait. */
  readonly hold?: boolean;
}

/** A deliver_sm the simulator sent (receipt or MO) and how the client answered it. */
export interface RecordedDelivery {
  readonly kind: 'receipt' | 'mo';
  /** The receipted carrier id (receipts) or the MO's text. */
  readonly subject: string;
  /** The deliver_sm_resp command_status; null while unanswered (or the connection dropped first). */
  commandStatus: number | null;
  readonly attempt: number;
}

interface SimSession {
  readonly session: SmppSession;
  bound: boolean;
  outstanding: number;
  /** deliver_sm sent on this session and not answered yet: sent again on the next bind if it drops. */
  readonly unanswered: Set<PendingDelivery>;
}

interface PendingDelivery {
  readonly kind: 'receipt' | 'mo';
  readonly subject: string;
  readonly options: Readonly<Record<string, unknown>>;
  attempt: number;
}

const OUTCOMES = {
  delivered: { stat: 'DELIVRD', state: 2, err: '000' },
  undelivered: { stat: 'UNDELIV', state: 5, err: '001' },
  expired: { stat: 'EXPIRED', state: 3, err: '000' },
  rejected: { stat: 'REJECTD', state: 8, err: '002' },
  deleted: { stat: 'DELETED', state: 4, err: '000' },
  unknown: { stat: 'UNKNOWN', state: 7, err: '000' },
} as const;

type FixedOutcome = keyof typeof OUTCOMES;

/**
 * An SMSC for development, tests and benchmarks, on the `smpp` package's server: checks bind
 * credentials, answers submit_sm with message ids (or rejects a share of them, or as a policy
 * says), sends delivery receipts (text, TLVs optional) after a delay, injects MO messages and can
 * drop every connection. Like a real SMSC it keeps receipts and MO messages while no client is
 * bound (or while `pauseDeliveries()`), sends again what a client did not answer, and sends a
 * deliver_sm answered with an error again later.
 */
export class SmscSimulator {
  readonly submits: RecordedSubmit[] = [];
  readonly deliveries: RecordedDelivery[] = [];
  /** Successful binds so far (reconnects count again). */
  bindCount = 0;
  /** Bind attempts refused for credentials. */
  refusedBinds = 0;
  /** The most submit_sm one session had unanswered at once. */
  peakOutstanding = 0;
  dlrOutcome: SimulatedDlrOutcome;
  dlrDelayMs: number;
  submitRespDelayMs: number;
  rejectRate: number;
  receiptTlvs: boolean;
  autoReceipts: boolean;
  /** Decides the resp of each submit_sm (index: its position in `submits`); undefined: the defaults. */
  submitPolicy: ((submit: RecordedSubmit, index: number) => SimulatedSubmitResponse | undefined) | null = null;
  /** The receipt outcome of an accepted submit; undefined: `dlrOutcome`. */
  outcomeFor: ((submit: RecordedSubmit) => SimulatedDlrOutcome | undefined) | null = null;
  private deliveriesPaused = false;
  private readonly waiting: PendingDelivery[] = [];
  private readonly sessions = new Set<SimSession>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextId = 1;
  private readonly random: () => number;

  private constructor(
    private readonly server: SmppServer,
    private readonly options: SmscSimulatorOptions,
  ) {
    this.random = options.random ?? Math.random;
    this.dlrOutcome = options.dlrOutcome ?? 'delivered';
    this.dlrDelayMs = options.dlrDelayMs ?? 0;
    this.submitRespDelayMs = options.submitRespDelayMs ?? 0;
    this.rejectRate = options.rejectRate ?? 0;
    this.receiptTlvs = options.receiptTlvs ?? true;
    this.autoReceipts = options.autoReceipts ?? true;
  }

  static async start(options: SmscSimulatorOptions): Promise<SmscSimulator> {
    let simulator: SmscSimulator | null = null;
    const server = createSmppServer((session) => simulator?.accept(session));
    simulator = new SmscSimulator(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return simulator;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get boundSessions(): number {
    return [...this.sessions].filter((s) => s.bound).length;
  }

  /** Receipts and MO messages kept for later (no client bound, deliveries paused, or waiting to be sent again). */
  get waitingDeliveries(): number {
    return this.waiting.length;
  }

  /**
   * Sends an MO message (split and concatenated like an outbound one when long) to a bound
   * session; kept until one binds otherwise. True when it went out at once.
   */
  injectMo(mo: {
    readonly source: string;
    readonly destination: string;
    readonly text: string;
    /** The concatenation reference of a long message. Default: the next id's low byte. */
    readonly reference?: number;
    readonly userMessageReference?: number;
    /** TON of both addresses. Default 1 (international). */
    readonly ton?: number;
    /** Send only these parts (1-based) of a long message, as if the others were lost. */
    readonly parts?: readonly number[];
  }): boolean {
    const encoded = encodeMessage(mo.text, mo.reference ?? this.nextId++ & 0xff);
    const { dataCoding } = encoded;
    const parts = encoded.parts.filter((p) => mo.parts?.includes(p.seq) ?? true);
    const ton = mo.ton ?? 1;
    const deliveries = parts.map(
      (part): PendingDelivery => ({
        kind: 'mo',
        subject: mo.text,
        attempt: 0,
        options: {
          source_addr_ton: ton,
          source_addr_npi: 1,
          source_addr: mo.source,
          dest_addr_ton: ton,
          dest_addr_npi: 1,
          destination_addr: mo.destination,
          esm_class: part.udh ? EsmClass.UDH_INDICATOR : 0,
          data_coding: dataCoding,
          short_message: part.shortMessage,
          ...(mo.userMessageReference === undefined ? {} : { user_message_reference: mo.userMessageReference }),
        },
      }),
    );
    return deliveries.map((d) => this.deliver(d)).every(Boolean);
  }

  /** Sends a receipt for any carrier id (one this SMSC never issued, too). */
  injectReceipt(receipt: { readonly messageId: string; readonly outcome: Exclude<SimulatedDlrOutcome, 'mixed'>; readonly source?: string; readonly destination?: string }): boolean {
    return this.deliver(this.receiptDelivery(receipt.messageId, OUTCOMES[receipt.outcome], receipt.source ?? '', receipt.destination ?? '', ''));
  }

  /** Keeps receipts and MO messages instead of sending them (an SMSC with a backlog). */
  pauseDeliveries(): void {
    this.deliveriesPaused = true;
  }

  /** Sends what was kept to a bound session. */
  resumeDeliveries(): void {
    this.deliveriesPaused = false;
    this.flush();
  }

  /** Destroys every connection (the listener stays up): clients see a dropped bind. */
  dropAll(): void {
    for (const s of this.sessions) s.session.destroy();
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.dropAll();
    });
  }

  private accept(session: SmppSession): void {
    const sim: SimSession = { session, bound: false, outstanding: 0, unanswered: new Set() };
    this.sessions.add(sim);
    session.on('error', (error: Error) => this.options.logger?.warn({ err: error }, 'simulator session error'));
    session.on('close', () => {
      this.sessions.delete(sim);
      // Not answered: the client never confirmed it, so it goes again on the next bind.
      this.waiting.push(...sim.unanswered);
      sim.unanswered.clear();
    });
    session.on('pdu', (pdu: SmppPdu) => {
      try {
        this.onPdu(sim, pdu);
      } catch (error) {
        this.options.logger?.error({ err: error }, 'simulator pdu handler failed');
        session.destroy();
      }
    });
  }

  private onPdu(sim: SimSession, pdu: SmppPdu): void {
    const { session } = sim;
    switch (pdu.command) {
      case 'bind_transceiver': {
        if (pdu.system_id !== this.options.systemId || pdu.password !== this.options.password) {
          this.refusedBinds += 1;
          session.send(pdu.response({ command_status: pdu.system_id !== this.options.systemId ? SmppStatus.ESME_RINVSYSID : SmppStatus.ESME_RINVPASWD }));
          this.later(() => session.close(), 50);
          return;
        }
        sim.bound = true;
        this.bindCount += 1;
        session.send(pdu.response({ system_id: this.options.systemId }));
        this.later(() => this.flush(), 0);
        return;
      }
      case 'submit_sm':
        this.onSubmit(sim, pdu);
        return;
      case 'enquire_link':
        session.send(pdu.response());
        return;
      case 'unbind':
        sim.bound = false;
        session.send(pdu.response());
        this.later(() => session.close(), 0);
        return;
      default:
        return;
    }
  }

  private onSubmit(sim: SimSession, pdu: SmppPdu): void {
    if (!sim.bound) {
      sim.session.send(pdu.response({ command_status: SmppStatus.ESME_RINVBNDSTS }));
      return;
    }
    const sm = pdu.short_message;
    const decoded = sm && !Buffer.isBuffer(sm) ? sm : { message: '', udh: [] };
    const validity = pdu.validity_period;
    const index = this.submits.length;
    const draft: RecordedSubmit = {
      messageId: null,
      source: pdu.source_addr ?? '',
      sourceTon: pdu.source_addr_ton ?? 0,
      destination: pdu.destination_addr ?? '',
      dataCoding: pdu.data_coding ?? 0,
      esmClass: pdu.esm_class ?? 0,
      registeredDelivery: pdu.registered_delivery ?? 0,
      udh: (decoded.udh ?? []).map((ie) => ie.toString('hex')),
      text: typeof decoded.message === 'string' ? decoded.message : decoded.message.toString('hex'),
      validityPeriod: validity instanceof Date ? validity : null,
      receivedAt: Date.now(),
    };
    const policy = this.submitPolicy?.(draft, index) ?? {};
    const status = policy.commandStatus ?? (this.random() < this.rejectRate ? SmppStatus.ESME_RSUBMITFAIL : 0);
    const messageId = status === 0 ? (this.nextId++).toString(16).padStart(8, '0') : null;
    const record: RecordedSubmit = { ...draft, messageId };
    this.submits.push(record);
    if (policy.hold) return; // the resp is "lost"
    sim.outstanding += 1;
    this.peakOutstanding = Math.max(this.peakOutstanding, sim.outstanding);
    const respond = (): void => {
      sim.outstanding -= 1;
      if (messageId === null) {
        sim.session.send(pdu.response({ command_status: status }));
        return;
      }
      sim.session.send(pdu.response({ message_id: messageId }));
      if (this.autoReceipts && (record.registeredDelivery & 0x03) !== 0) {
        const outcome = this.pickOutcome(this.outcomeFor?.(record) ?? this.dlrOutcome);
        this.later(() => this.deliver(this.receiptDelivery(messageId, outcome, record.destination, record.source, record.text)), this.dlrDelayMs);
      }
    };
    const delayMs = policy.delayMs ?? this.submitRespDelayMs;
    if (delayMs > 0) this.later(respond, delayMs);
    else respond();
  }

  private receiptDelivery(messageId: string, outcome: (typeof OUTCOMES)[FixedOutcome], source: string, destination: string, text: string): PendingDelivery {
    const date = receiptDateOf(new Date());
    return {
      kind: 'receipt',
      subject: messageId,
      attempt: 0,
      options: {
        source_addr: source,
        destination_addr: destination,
        esm_class: EsmClass.DELIVERY_RECEIPT,
        data_coding: 0,
        short_message: formatDeliveryReceipt({ messageId, stat: outcome.stat, err: outcome.err, submitDate: date, doneDate: date, text }),
        ...(this.receiptTlvs ? { receipted_message_id: messageId, message_state: outcome.state } : {}),
      },
    };
  }

  /**
   * Sends a deliver_sm to a bound session (any bound transceiver of the account, like a real
   * SMSC when the original one is gone), or keeps it. True when it went out now.
   */
  private deliver(delivery: PendingDelivery): boolean {
    const target = this.deliveriesPaused ? undefined : [...this.sessions].find((s) => s.bound);
    if (!target) {
      this.waiting.push(delivery);
      return false;
    }
    delivery.attempt += 1;
    const record: RecordedDelivery = { kind: delivery.kind, subject: delivery.subject, commandStatus: null, attempt: delivery.attempt };
    this.deliveries.push(record);
    target.unanswered.add(delivery);
    target.session.deliver_sm(delivery.options, (resp) => {
      target.unanswered.delete(delivery);
      record.commandStatus = resp.command_status;
      if (resp.command_status === 0) return;
      if (delivery.attempt > (this.options.redeliverAttempts ?? 3)) {
        this.options.logger?.warn({ kind: delivery.kind, subject: delivery.subject }, 'deliver_sm refused too often; dropped');
        return;
      }
      this.later(() => this.deliver(delivery), this.options.redeliverDelayMs ?? 1000);
    });
    return true;
  }

  private flush(): void {
    if (this.deliveriesPaused || this.boundSessions === 0) return;
    for (const delivery of this.waiting.splice(0)) this.deliver(delivery);
  }

  private pickOutcome(outcome: SimulatedDlrOutcome): (typeof OUTCOMES)[FixedOutcome] {
    switch (outcome) {
      case 'delivered':
      case 'undelivered':
      case 'expired':
      case 'rejected':
      case 'deleted':
      case 'unknown':
        return OUTCOMES[outcome];
      case 'mixed': {
        const r = this.random();
        return r < 0.8 ? OUTCOMES.delivered : r < 0.9 ? OUTCOMES.undelivered : OUTCOMES.expired;
      }
      default: {
        const never: never = outcome;
        throw new Error(`unknown outcome ${String(never)}`);
      }
    }
  }

  private later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}
