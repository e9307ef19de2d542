import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { formatDeliveryReceipt, receiptDateOf } from './delivery-receipt';
import { encodeMessage } from './message-encoding';
import { EsmClass, SmppStatus, type SmppPdu, type SmppServer, type SmppSession, createSmppServer } from './smpp-facade';

export type SimulatedDlrOutcome = 'delivered' | 'undelivered' | 'expired' | 'mixed';

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
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** What the simulator saw of one submit_sm, for assertions. */
export interface RecordedSubmit {
  readonly messageId: string | null;
  readonly source: string;
  readonly destination: string;
  readonly dataCoding: number;
  readonly esmClass: number;
  readonly registeredDelivery: number;
  /** The UDH information elements, hex, e.g. `0003 2a0201` → ['00032a0201']. */
  readonly udh: readonly string[];
  readonly text: string;
  readonly receivedAt: number;
}

interface SimSession {
  readonly session: SmppSession;
  bound: boolean;
  outstanding: number;
}

const OUTCOMES = {
  delivered: { stat: 'DELIVRD', state: 2, err: '000' },
  undelivered: { stat: 'UNDELIV', state: 5, err: '001' },
  expired: { stat: 'EXPIRED', state: 3, err: '000' },
} as const;

/**
 * An SMSC for development, tests and benchmarks, on the `smpp` package's server: checks bind
 * credentials, answers submit_sm with message ids (or rejects a share of them), sends delivery
 * receipts (text and TLVs) after a delay, injects MO messages and can drop every connection.
 */
export class SmscSimulator {
  readonly submits: RecordedSubmit[] = [];
  /** Successful binds so far (reconnects count again). */
  bindCount = 0;
  /** The most submit_sm one session had unanswered at once. */
  peakOutstanding = 0;
  dlrOutcome: SimulatedDlrOutcome;
  submitRespDelayMs: number;
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
    this.submitRespDelayMs = options.submitRespDelayMs ?? 0;
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

  /** Sends an MO message (split and concatenated like an outbound one when long) to a bound session. */
  injectMo(mo: { readonly source: string; readonly destination: string; readonly text: string }): boolean {
    const target = [...this.sessions].find((s) => s.bound);
    if (!target) return false;
    const { dataCoding, parts } = encodeMessage(mo.text, this.nextId & 0xff);
    for (const part of parts) {
      target.session.deliver_sm({
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: mo.source,
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: mo.destination,
        esm_class: part.udh ? EsmClass.UDH_INDICATOR : 0,
        data_coding: dataCoding,
        short_message: part.shortMessage,
      });
    }
    return true;
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
    const sim: SimSession = { session, bound: false, outstanding: 0 };
    this.sessions.add(sim);
    session.on('error', (error: Error) => this.options.logger?.warn({ err: error }, 'simulator session error'));
    session.on('close', () => this.sessions.delete(sim));
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
          session.send(pdu.response({ command_status: pdu.system_id !== this.options.systemId ? SmppStatus.ESME_RINVSYSID : SmppStatus.ESME_RINVPASWD }));
          this.later(() => session.close(), 50);
          return;
        }
        sim.bound = true;
        this.bindCount += 1;
        session.send(pdu.response({ system_id: this.options.systemId }));
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
      sim.session.send(pdu.response({ command_status: 0x04 })); // ESME_RINVBNDSTS
      return;
    }
    const rejected = this.random() < (this.options.rejectRate ?? 0);
    const messageId = rejected ? null : (this.nextId++).toString(16).padStart(8, '0');
    const sm = pdu.short_message;
    const decoded = sm && !Buffer.isBuffer(sm) ? sm : { message: '', udh: [] };
    const record: RecordedSubmit = {
      messageId,
      source: pdu.source_addr ?? '',
      destination: pdu.destination_addr ?? '',
      dataCoding: pdu.data_coding ?? 0,
      esmClass: pdu.esm_class ?? 0,
      registeredDelivery: pdu.registered_delivery ?? 0,
      udh: (decoded.udh ?? []).map((ie) => ie.toString('hex')),
      text: typeof decoded.message === 'string' ? decoded.message : decoded.message.toString('hex'),
      receivedAt: Date.now(),
    };
    this.submits.push(record);
    sim.outstanding += 1;
    this.peakOutstanding = Math.max(this.peakOutstanding, sim.outstanding);
    const respond = (): void => {
      sim.outstanding -= 1;
      if (messageId === null) {
        sim.session.send(pdu.response({ command_status: SmppStatus.ESME_RSUBMITFAIL }));
        return;
      }
      sim.session.send(pdu.response({ message_id: messageId }));
      if ((record.registeredDelivery & 0x03) !== 0) this.later(() => this.sendReceipt(sim, record, messageId), this.options.dlrDelayMs ?? 0);
    };
    if (this.submitRespDelayMs > 0) this.later(respond, this.submitRespDelayMs);
    else respond();
  }

  private sendReceipt(origin: SimSession, submit: RecordedSubmit, messageId: string): void {
    // Like a real SMSC: the receipt goes to any bound transceiver of the account when the original one is gone.
    const target = origin.bound && this.sessions.has(origin) ? origin : [...this.sessions].find((s) => s.bound);
    if (!target) return;
    const outcome = this.pickOutcome();
    const date = receiptDateOf(new Date());
    target.session.deliver_sm({
      source_addr: submit.destination,
      destination_addr: submit.source,
      esm_class: EsmClass.DELIVERY_RECEIPT,
      data_coding: 0,
      short_message: formatDeliveryReceipt({ messageId, stat: outcome.stat, err: outcome.err, submitDate: date, doneDate: date, text: submit.text }),
      receipted_message_id: messageId,
      message_state: outcome.state,
    });
  }

  private pickOutcome(): (typeof OUTCOMES)[keyof typeof OUTCOMES] {
    switch (this.dlrOutcome) {
      case 'delivered':
      case 'undelivered':
      case 'expired':
        return OUTCOMES[this.dlrOutcome];
      case 'mixed': {
        const r = this.random();
        return r < 0.8 ? OUTCOMES.delivered : r < 0.9 ? OUTCOMES.undelivered : OUTCOMES.expired;
      }
      default: {
        const never: never = this.dlrOutcome;
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
