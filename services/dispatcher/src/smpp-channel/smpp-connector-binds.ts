import type { Logger } from 'pino';
import {
  type DeliverSmAck,
  SmppBind,
  type SmppBindOptions,
  SmppBindRejectedError,
  type SmppBindState,
  type SmppFinalReceipt,
  type SmppMoMessage,
  describeCommandStatus,
} from '@reach/smpp-channel';
import type { SmppChannelMetrics } from './smpp-channel.metrics';
import type { SmppConnectorSettings } from './smpp-connectors';

/** Bind behaviour shared by every connector (the per-connector settings come from the connector). */
export type SmppBindTuning = Pick<SmppBindOptions, 'enquireLinkIntervalMs' | 'responseTimeoutMs' | 'reconnect' | 'throttlePauseMs' | 'moPartHoldMs'>;

export interface ConnectorBindHandlers {
  state(connectorId: string, state: SmppBindState): void;
  receipt(connectorId: string, receipt: SmppFinalReceipt, ack: DeliverSmAck): void;
  mo(connectorId: string, mo: SmppMoMessage, ack: DeliverSmAck): void;
}

export interface ConnectorBindsDeps {
  readonly logger: Logger;
  readonly tuning: SmppBindTuning;
  /** A connector whose bind was refused (credentials, system_type) is tried again after this long. */
  readonly rejectedBindRetryMs: number;
  readonly metrics: SmppChannelMetrics;
  readonly handlers: ConnectorBindHandlers;
  readonly random?: () => number;
}

interface Entry {
  settings: SmppConnectorSettings;
  readonly fingerprint: string;
  /** Null while waiting to retry a refused bind. */
  bind: SmppBind | null;
  retryTimer: NodeJS.Timeout | null;
}

/**
 * One `SmppBind` per configured connector, kept in line with the configuration: `apply` opens
 * binds for new connectors, closes those of removed (or disabled) ones and re-opens a connector
 * whose connection settings changed. Binding never blocks: a connector that cannot connect keeps
 * retrying in its bind (backoff); one whose bind is refused is logged and tried again slowly.
 */
export class SmppConnectorBinds {
  private readonly entries = new Map<string, Entry>();
  private readonly closing = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly deps: ConnectorBindsDeps) {}

  settingsOf(connectorId: string): SmppConnectorSettings | undefined {
    return this.entries.get(connectorId)?.settings;
  }

  bindOf(connectorId: string): SmppBind | null {
    return this.entries.get(connectorId)?.bind ?? null;
  }

  /** submit_sm awaiting their resp, per connector (for the window gauge). */
  outstanding(): Map<string, number> {
    const result = new Map<string, number>();
    for (const [id, entry] of this.entries) result.set(id, entry.bind?.outstanding ?? 0);
    return result;
  }

  /** Brings the binds in line with `connectors`; true when a bind was opened or closed. */
  apply(connectors: readonly SmppConnectorSettings[]): boolean {
    if (this.closed) return false;
    let changed = false;
    const wanted = new Map(connectors.map((c) => [c.id, c]));
    for (const [id, entry] of this.entries) {
      const next = wanted.get(id);
      if (next && fingerprintOf(next) === entry.fingerprint) {
        entry.settings = next;
        continue;
      }
      this.deps.logger.info({ connector: id, connectorName: entry.settings.name, reason: next ? 'settings changed' : 'removed or disabled' }, 'closing SMPP connector bind');
      this.remove(id, entry);
      changed = true;
    }
    for (const settings of connectors) {
      if (this.entries.has(settings.id)) continue;
      const entry: Entry = { settings, fingerprint: fingerprintOf(settings), bind: null, retryTimer: null };
      this.entries.set(settings.id, entry);
      this.open(entry);
      changed = true;
    }
    return changed;
  }

  /** Unbinds every connector; nothing reconnects afterwards. */
  async closeAll(): Promise<void> {
    this.closed = true;
    for (const [id, entry] of this.entries) this.remove(id, entry);
    await Promise.all([...this.closing]);
  }

  private remove(id: string, entry: Entry): void {
    this.entries.delete(id);
    if (entry.retryTimer) clearTimeout(entry.retryTimer);
    entry.retryTimer = null;
    const bind = entry.bind;
    entry.bind = null;
    this.deps.metrics.forget(id);
    if (!bind) return;
    const closing = bind.close().finally(() => {
      bind.removeAllListeners();
      this.closing.delete(closing);
    });
    this.closing.add(closing);
  }

  private open(entry: Entry): void {
    const { settings } = entry;
    const { handlers, metrics } = this.deps;
    const log = this.deps.logger.child({ connector: settings.id, connectorName: settings.name });
    const bind = new SmppBind({
      host: settings.host,
      port: settings.port,
      systemId: settings.systemId,
      password: settings.password,
      systemType: settings.systemType,
      source: settings.source,
      destination: settings.destination,
      windowSize: settings.windowSize,
      throughputPerSecond: settings.throughputPerSecond,
      logger: log,
      ...this.deps.tuning,
      ...(this.deps.random ? { random: this.deps.random } : {}),
    });
    entry.bind = bind;
    const current = (): boolean => entry.bind === bind && this.entries.get(settings.id) === entry;
    bind.on('state', (state) => {
      if (!current()) return;
      metrics.bindUp(settings.id, state === 'bound');
      handlers.state(settings.id, state);
    });
    bind.on('receipt', (receipt, ack) => handlers.receipt(settings.id, receipt, ack));
    bind.on('mo', (mo, ack) => handlers.mo(settings.id, mo, ack));
    metrics.bindUp(settings.id, false);
    bind.start().catch((error: unknown) => {
      // Anything but a refusal means the bind was closed on purpose.
      if (!(error instanceof SmppBindRejectedError) || !current() || this.closed) return;
      const retryInMs = this.deps.rejectedBindRetryMs;
      log.error(
        { host: settings.host, port: settings.port, systemId: settings.systemId, status: describeCommandStatus(error.commandStatus), retryInMs },
        'the SMSC refused the SMPP bind: check the connector credentials (system_id, password, system_type); trying again later',
      );
      entry.bind = null;
      entry.retryTimer = setTimeout(() => {
        entry.retryTimer = null;
        if (this.entries.get(settings.id) === entry && !this.closed) this.open(entry);
      }, retryInMs);
    });
  }
}

/** What needs a new bind when it changes (the name and the account do not). */
function fingerprintOf(c: SmppConnectorSettings): string {
  return JSON.stringify([
    c.host,
    c.port,
    c.systemId,
    c.password,
    c.systemType,
    c.bindMode,
    c.source.ton,
    c.source.npi,
    c.destination.ton,
    c.destination.npi,
    c.throughputPerSecond,
    c.windowSize,
  ]);
}
