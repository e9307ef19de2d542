import { Counter, Gauge, type Registry } from 'prom-client';

/** Per part: accepted (an id), rejected (a verdict), transient (throttled, queue full, system error), lost (bind dropped first), expired (validity over in the queue). */
export type SubmitOutcome = 'accepted' | 'rejected' | 'transient' | 'lost' | 'expired' | 'closed';
/** Per receipt: delivered / undelivered part, unknown (no submission for the carrier id yet: answered "try later"). */
export type ReceiptOutcome = 'delivered' | 'undelivered' | 'unknown';

export interface SmppChannelMetrics {
  bindUp(connectorId: string, up: boolean): void;
  forget(connectorId: string): void;
  submitted(connectorId: string, outcome: SubmitOutcome): void;
  receipted(connectorId: string, outcome: ReceiptOutcome): void;
}

const NAMES = ['reach_smpp_binds_up', 'reach_smpp_submits_total', 'reach_smpp_receipts_total', 'reach_smpp_window_outstanding'] as const;

/**
 * The SMPP channel's metrics, labelled by connector id (names are only unique per account).
 * A new channel in the same registry (tests, a restarted channel) replaces the previous one's.
 */
export function createSmppChannelMetrics(registry: Registry | undefined, outstanding: () => ReadonlyMap<string, number>): SmppChannelMetrics {
  if (!registry) return { bindUp: () => undefined, forget: () => undefined, submitted: () => undefined, receipted: () => undefined };
  for (const name of NAMES) registry.removeSingleMetric(name);
  const registers = [registry];
  const up = new Gauge({ name: 'reach_smpp_binds_up', help: 'Whether the SMPP connector is bound: 1 or 0', labelNames: ['connector'], registers });
  const submits = new Counter({
    name: 'reach_smpp_submits_total',
    help: 'submit_sm parts by outcome (accepted, rejected, transient, lost, expired, closed)',
    labelNames: ['connector', 'outcome'],
    registers,
  });
  const receipts = new Counter({
    name: 'reach_smpp_receipts_total',
    help: 'Final delivery receipts by outcome (delivered, undelivered, unknown carrier id)',
    labelNames: ['connector', 'outcome'],
    registers,
  });
  const window = new Gauge({
    name: 'reach_smpp_window_outstanding',
    help: 'submit_sm sent and not yet answered, per connector',
    labelNames: ['connector'],
    registers,
    collect() {
      this.reset();
      for (const [connector, n] of outstanding()) this.set({ connector }, n);
    },
  });
  return {
    bindUp: (connector, isUp) => up.set({ connector }, isUp ? 1 : 0),
    forget: (connector) => {
      up.remove({ connector });
      window.remove({ connector });
    },
    submitted: (connector, outcome) => submits.inc({ connector, outcome }),
    receipted: (connector, outcome) => receipts.inc({ connector, outcome }),
  };
}
