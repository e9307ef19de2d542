import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { ChannelKind } from '@reach/contracts';
import { SmppStatus, SmscSimulator, type SmscSimulatorOptions, receiptDateOf } from '@reach/smpp-channel';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import type { ChannelInboundSms, ChannelReports, ChannelSend } from '../channels/outbound-channel';
import { SmppChannel, type SmppChannelOptions } from './smpp-channel';
import type { SmppConnectorSettings, SmppRoute } from './smpp-connectors';

/**
 * The SMPP channel over the real protocol: the `smpp` package on both sides (SmppBind ↔
 * SmscSimulator on an ephemeral port), `smpp_submissions` in a real Postgres, and the
 * dispatcher's side as a recording `ChannelReports`.
 */

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

const ACCOUNT = randomUUID();
const SENDER = '+14155550100';
const TO = '+14155550111';

type Report =
  | { readonly kind: 'sent'; readonly messageId: string; readonly providerMessageId: string | null }
  | { readonly kind: 'delivered'; readonly messageId: string; readonly dlrDate: string | null }
  | { readonly kind: 'undelivered'; readonly messageId: string; readonly errorCode: number; readonly reason: string; readonly dlrDate: string | null }
  | { readonly kind: 'failed'; readonly messageId: string; readonly errorCode: number; readonly reason: string }
  | { readonly kind: 'received'; readonly sms: ChannelInboundSms; readonly channel: ChannelKind };

/** The dispatcher's side: records every report once it "is appended"; `gate` can hold or fail one. */
class RecordingReports implements ChannelReports {
  readonly reports: Report[] = [];
  gate: ((report: Report) => Promise<void>) | null = null;

  sent(messageId: string, providerMessageId: string | null): Promise<void> {
    return this.record({ kind: 'sent', messageId, providerMessageId });
  }

  delivered(messageId: string, dlrDate: string | null): Promise<void> {
    return this.record({ kind: 'delivered', messageId, dlrDate });
  }

  undelivered(messageId: string, errorCode: number, reason: string, dlrDate: string | null): Promise<void> {
    return this.record({ kind: 'undelivered', messageId, errorCode, reason, dlrDate });
  }

  failed(messageId: string, errorCode: number, reason: string): Promise<void> {
    return this.record({ kind: 'failed', messageId, errorCode, reason });
  }

  received(sms: ChannelInboundSms, channel: ChannelKind): Promise<void> {
    return this.record({ kind: 'received', sms, channel });
  }

  of(messageId: string): Report[] {
    return this.reports.filter((r) => r.kind !== 'received' && r.messageId === messageId);
  }

  private async record(report: Report): Promise<void> {
    await this.gate?.(report);
    this.reports.push(report);
  }
}

/** The dispatcher's ChannelReportRefusedError, by its code. */
class RefusedError extends Error {
  readonly code = 'CHANNEL_REPORT_REFUSED';
}

async function waitFor(predicate: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('SmppChannel against the SMSC simulator', () => {
  let database: TestDatabase;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database.drop();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function simulator(options: Partial<SmscSimulatorOptions> = {}): Promise<SmscSimulator> {
    const smsc = await SmscSimulator.start({ systemId: 'reach', password: 'secret', redeliverDelayMs: 100, ...options });
    cleanups.push(() => smsc.close());
    return smsc;
  }

  /** A connector row (smpp_submissions references it) and its settings as the loader returns them. */
  async function connectorFor(smsc: SmscSimulator, overrides: Partial<SmppConnectorSettings> = {}): Promise<SmppConnectorSettings> {
    const settings: SmppConnectorSettings = {
      id: randomUUID(),
      accountId: null,
      name: `sim-${randomUUID().slice(0, 8)}`,
      host: '127.0.0.1',
      port: overrides.port ?? smsc.port,
      systemId: 'reach',
      password: 'secret',
      systemType: '',
      bindMode: 'transceiver',
      source: { ton: 1, npi: 1 },
      destination: { ton: 1, npi: 1 },
      throughputPerSecond: 1000,
      windowSize: 10,
      ...overrides,
    };
    await database.db
      .insertInto('smpp_connectors')
      .values({ id: settings.id, name: settings.name, host: settings.host, port: settings.port, system_id: settings.systemId, password_sealed: Buffer.from('sealed') })
      .execute();
    return settings;
  }

  interface Harness {
    readonly channel: SmppChannel;
    readonly reports: RecordingReports;
    readonly wakes: (string | undefined)[];
    readonly connectors: SmppConnectorSettings[];
    readonly routes: SmppRoute[];
  }

  async function startChannel(connectors: SmppConnectorSettings[], routes: SmppRoute[], options: Partial<SmppChannelOptions> = {}): Promise<Harness> {
    const reports = new RecordingReports();
    const wakes: (string | undefined)[] = [];
    const channel = new SmppChannel({
      db: database.db,
      logger,
      loadConnectors: async () => [...connectors],
      loadRoutes: async () => [...routes],
      refreshIntervalMs: 100,
      rejectedBindRetryMs: 200,
      bind: { reconnect: { initialDelayMs: 50, maxDelayMs: 200 }, enquireLinkIntervalMs: 1000, responseTimeoutMs: 2000, throttlePauseMs: 50 },
      transientRetries: { attempts: 3, backoff: { initialDelayMs: 50, maxDelayMs: 200 } },
      unknownReceiptRetryDelaysMs: [20, 50],
      ...options,
    });
    await channel.start({ reports, wake: (sender) => wakes.push(sender) });
    cleanups.push(() => channel.stop());
    return { channel, reports, wakes, connectors, routes };
  }

  /** A simulator, its connector, the sender routed to it, and a channel bound to it. */
  async function boundChannel(sim: Partial<SmscSimulatorOptions> = {}, options: Partial<SmppChannelOptions> = {}): Promise<Harness & { smsc: SmscSimulator; connector: SmppConnectorSettings }> {
    const smsc = await simulator(sim);
    const connector = await connectorFor(smsc);
    const harness = await startChannel([connector], [{ accountId: ACCOUNT, sender: SENDER, connectorId: connector.id }], options);
    await waitFor(() => harness.channel.isReady(SENDER));
    return { ...harness, smsc, connector };
  }

  function message(overrides: Partial<ChannelSend> = {}): ChannelSend {
    return {
      messageId: randomUUID(),
      accountId: ACCOUNT,
      from: SENDER,
      to: TO,
      body: 'Your code is 123456',
      segmentCount: 1,
      expiresAt: new Date(Date.now() + 3_600_000),
      ...overrides,
    };
  }

  async function rowsOf(messageId: string) {
    return database.db.selectFrom('smpp_submissions').selectAll().where('message_id', '=', messageId).orderBy('part_index').execute();
  }

  const kinds = (reports: Report[]): string[] => reports.map((r) => r.kind);

  describe('binds and routing', () => {
    it('binds at start, is ready for routed senders only, and wakes the dispatcher when bound', async () => {
      const { channel, wakes, smsc } = await boundChannel();
      expect(smsc.boundSessions).toBe(1);
      expect(wakes).toContain(undefined);
      expect(channel.isReady('+19999999999')).toBe(false);
    });

    it('does not wait for a connector that cannot connect, and binds it once the SMSC is up', async () => {
      const smsc = await simulator();
      const port = smsc.port;
      await smsc.close();
      const connector = await connectorFor(smsc, { port });
      const started = Date.now();
      const { channel, wakes } = await startChannel([connector], [{ accountId: ACCOUNT, sender: SENDER, connectorId: connector.id }]);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(channel.isReady(SENDER)).toBe(false);
      const revived = await simulator({ port });
      await waitFor(() => channel.isReady(SENDER));
      expect(revived.bindCount).toBe(1);
      expect(wakes).toContain(undefined);
    });

    it('unbinds on stop and binds again when started again', async () => {
      const { channel, smsc, reports } = await boundChannel();
      await channel.stop();
      expect(smsc.boundSessions).toBe(0);
      expect(channel.isReady(SENDER)).toBe(false);
      await channel.start({ reports, wake: () => undefined });
      await waitFor(() => channel.isReady(SENDER));
      const m = message();
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 2);
      expect(smsc.bindCount).toBe(2);
    });

    it('fails a message whose sender has no route with 30003', async () => {
      const { channel, reports, smsc } = await boundChannel();
      const m = message({ from: '+14155559999' });
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 1);
      expect(reports.of(m.messageId)).toEqual([
        { kind: 'failed', messageId: m.messageId, errorCode: 30003, reason: 'No SMPP connector is routed for sender +14155559999' },
      ]);
      expect(smsc.submits).toHaveLength(0);
    });

    it('takes and fails with 30003 a message routed to a disabled connector', async () => {
      const smsc = await simulator();
      const disabled = await connectorFor(smsc);
      const { channel, reports } = await startChannel([], [{ accountId: ACCOUNT, sender: SENDER, connectorId: disabled.id }]);
      expect(channel.isReady(SENDER)).toBe(true);
      const m = message();
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 1);
      expect(reports.of(m.messageId)[0]).toMatchObject({ kind: 'failed', errorCode: 30003, reason: expect.stringContaining('is disabled or removed') });
      expect(smsc.submits).toHaveLength(0);
    });

    it('picks up connectors and routes added, changed and removed while running', async () => {
      const smsc = await simulator();
      const harness = await startChannel([], []);
      const { channel, connectors, routes, wakes } = harness;
      expect(channel.isReady(SENDER)).toBe(false);

      const connector = await connectorFor(smsc);
      connectors.push(connector);
      routes.push({ accountId: ACCOUNT, sender: SENDER, connectorId: connector.id });
      await waitFor(() => channel.isReady(SENDER));
      expect(wakes.length).toBeGreaterThan(0);

      // A changed setting re-binds.
      connectors[0] = { ...connector, windowSize: 20 };
      await waitFor(() => smsc.bindCount === 2 && channel.isReady(SENDER));

      connectors.length = 0;
      routes.length = 0;
      await waitFor(() => smsc.boundSessions === 0);
      expect(channel.isReady(SENDER)).toBe(false);
    });

    it('logs a bind refused for its credentials, retries it slowly, and binds once the password is fixed', async () => {
      const smsc = await simulator();
      const connector = await connectorFor(smsc, { password: 'wrong' });
      const { channel, connectors } = await startChannel([connector], [{ accountId: ACCOUNT, sender: SENDER, connectorId: connector.id }]);
      await waitFor(() => smsc.refusedBinds >= 2);
      expect(channel.isReady(SENDER)).toBe(false);
      connectors[0] = { ...connector, password: 'secret' };
      await waitFor(() => channel.isReady(SENDER));
    });

    it('is not ready while more than two windows of parts wait, and wakes the sender when they drain', async () => {
      const smsc = await simulator({ submitRespDelayMs: 200 });
      const connector = await connectorFor(smsc, { windowSize: 1 });
      const { channel, wakes, reports } = await startChannel([connector], [{ accountId: ACCOUNT, sender: SENDER, connectorId: connector.id }]);
      await waitFor(() => channel.isReady(SENDER));
      const sent = [message(), message(), message()];
      for (const m of sent) channel.send(m);
      await waitFor(() => !channel.isReady(SENDER));
      await waitFor(() => wakes.includes(SENDER));
      expect(channel.isReady(SENDER)).toBe(true);
      await waitFor(() => sent.every((m) => reports.of(m.messageId).some((r) => r.kind === 'sent')));
    });
  });

  describe('sending and receipts', () => {
    it('submits GSM-7 as one part (data_coding 0), reports sent with the carrier id, then delivered with the receipt date', async () => {
      const { channel, reports, smsc, connector } = await boundChannel();
      const m = message();
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 2);
      const [submit] = smsc.submits;
      expect(smsc.submits).toHaveLength(1);
      expect(submit).toMatchObject({ dataCoding: 0, esmClass: 0, udh: [], text: m.body, source: '14155550100', sourceTon: 1, destination: '14155550111', registeredDelivery: 1 });
      expect(Math.abs((submit?.validityPeriod?.getTime() ?? 0) - m.expiresAt.getTime())).toBeLessThan(5000);
      expect(reports.of(m.messageId)).toEqual([
        { kind: 'sent', messageId: m.messageId, providerMessageId: submit?.messageId },
        { kind: 'delivered', messageId: m.messageId, dlrDate: expect.stringMatching(/^\d{10}$/) },
      ]);
      const delivered = reports.of(m.messageId)[1];
      expect(delivered?.kind === 'delivered' && delivered.dlrDate).toBe(receiptDateOf(new Date(submit?.receivedAt ?? 0)));
      expect(await rowsOf(m.messageId)).toEqual([
        expect.objectContaining({ connector_id: connector.id, carrier_message_id: submit?.messageId, part_index: 1, part_count: 1, outcome: 'delivered', stat: 'DELIVRD', err: '000' }),
      ]);
      await waitFor(() => smsc.deliveries.length === 1 && smsc.deliveries[0]?.commandStatus === 0);
    });

    it('sends an alphanumeric sender id with TON 5 / NPI 0', async () => {
      const { channel, reports, smsc, routes, connector } = await boundChannel();
      routes.push({ accountId: ACCOUNT, sender: 'ACME', connectorId: connector.id });
      await waitFor(() => channel.isReady('ACME'));
      const m = message({ from: 'ACME' });
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).some((r) => r.kind === 'delivered'));
      expect(smsc.submits[0]).toMatchObject({ source: 'ACME', sourceTon: 5 });
    });

    it.each([
      ['GSM-7', 'A long GSM message. '.repeat(24).trim(), 0, 4],
      ['UCS-2', 'Привет! Ваш заказ готов к выдаче. '.repeat(4), 8, 3],
    ] as const)('submits multi-part %s with data_coding %#, UDH on every part, and is delivered only when every part is', async (_name, body, dataCoding, count) => {
      const { channel, reports, smsc } = await boundChannel({ autoReceipts: false });
      const m = message({ body, segmentCount: count });
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 1);
      expect(smsc.submits).toHaveLength(count);
      expect(smsc.submits.every((s) => s.dataCoding === dataCoding && (s.esmClass & 0x40) === 0x40 && s.registeredDelivery === 1)).toBe(true);
      expect(smsc.submits.map((s) => s.text).join('')).toBe(body);
      const udh = smsc.submits.map((s) => s.udh[0] ?? '');
      expect(new Set(udh.map((u) => u.slice(0, 6))).size).toBe(1);
      expect(udh.map((u) => u.slice(-4))).toEqual(Array.from({ length: count }, (_, i) => `0${count}0${i + 1}`));
      expect(reports.of(m.messageId)).toEqual([{ kind: 'sent', messageId: m.messageId, providerMessageId: smsc.submits[0]?.messageId }]);

      // Receipts for all parts but one: acknowledged, and still no outcome.
      for (const submit of smsc.submits.slice(1)) smsc.injectReceipt({ messageId: submit.messageId ?? '', outcome: 'delivered' });
      await waitFor(() => smsc.deliveries.length === count - 1 && smsc.deliveries.every((d) => d.commandStatus === 0));
      expect(kinds(reports.of(m.messageId))).toEqual(['sent']);
      expect((await rowsOf(m.messageId)).map((r) => r.outcome)).toEqual([null, ...Array<string>(count - 1).fill('delivered')]);

      smsc.injectReceipt({ messageId: smsc.submits[0]?.messageId ?? '', outcome: 'delivered' });
      await waitFor(() => reports.of(m.messageId).length === 2);
      expect(reports.of(m.messageId)[1]).toEqual({ kind: 'delivered', messageId: m.messageId, dlrDate: expect.stringMatching(/^\d{10}$/) });
    });

    it('matches a part’s receipt that arrives before the other parts’ resps, and answers it after sent and delivered', async () => {
      const { channel, reports, smsc } = await boundChannel();
      smsc.submitPolicy = (_, index) => (index === 1 ? { delayMs: 300 } : undefined);
      const m = message({ body: 'w'.repeat(200), segmentCount: 2 });
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 2);
      expect(kinds(reports.of(m.messageId))).toEqual(['sent', 'delivered']);
      await waitFor(() => smsc.deliveries.length === 2 && smsc.deliveries.every((d) => d.commandStatus === 0));
      expect(smsc.deliveries.map((d) => d.attempt)).toEqual([1, 1]);
    });

    it('reports a multi-part message undelivered as soon as one part is, with that part’s error', async () => {
      const { channel, reports, smsc } = await boundChannel({ autoReceipts: false });
      const m = message({ body: 'x'.repeat(300), segmentCount: 2 });
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 1);
      smsc.injectReceipt({ messageId: smsc.submits[1]?.messageId ?? '', outcome: 'undelivered' });
      await waitFor(() => reports.of(m.messageId).length === 2);
      expect(reports.of(m.messageId)[1]).toEqual({
        kind: 'undelivered',
        messageId: m.messageId,
        errorCode: 30005,
        reason: 'Destination handset unreachable (receipt stat UNDELIV, err 001) on part 2 of 2',
        dlrDate: expect.stringMatching(/^\d{10}$/),
      });
      // The other part's receipt changes nothing and is acknowledged.
      smsc.injectReceipt({ messageId: smsc.submits[0]?.messageId ?? '', outcome: 'delivered' });
      await waitFor(() => smsc.deliveries.length === 2 && smsc.deliveries.every((d) => d.commandStatus === 0));
      expect(kinds(reports.of(m.messageId))).toEqual(['sent', 'undelivered']);
    });

    it.each([
      ['undelivered', 30005, 'UNDELIV'],
      ['expired', 30001, 'EXPIRED'],
      ['rejected', 30004, 'REJECTD'],
      ['unknown', 30005, 'UNKNOWN'],
      ['deleted', 30005, 'DELETED'],
    ] as const)('maps a %s receipt to undelivered %i with the stat in the reason', async (outcome, errorCode, stat) => {
      const { channel, reports, smsc } = await boundChannel({ dlrOutcome: outcome });
      const m = message();
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 2);
      expect(reports.of(m.messageId)[1]).toMatchObject({ kind: 'undelivered', errorCode, reason: expect.stringContaining(`stat ${stat}`) });
      expect((await rowsOf(m.messageId))[0]).toMatchObject({ outcome: 'undelivered', stat });
      await waitFor(() => smsc.deliveries[0]?.commandStatus === 0);
    });

    it('reads receipts from their text when the SMSC sends no TLVs', async () => {
      const { channel, reports } = await boundChannel({ receiptTlvs: false, dlrOutcome: 'expired' });
      const m = message();
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 2);
      expect(reports.of(m.messageId)[1]).toMatchObject({ kind: 'undelivered', errorCode: 30001, reason: expect.stringContaining('stat EXPIRED, err 000') });
    });

    it('sends many messages at once, a third of them multi-part: each reported sent once and delivered once', async () => {
      const { channel, reports, smsc } = await boundChannel();
      const sent = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? message({ body: 'v'.repeat(400), segmentCount: 3 }) : message()));
      for (const m of sent) channel.send(m);
      await waitFor(() => sent.every((m) => kinds(reports.of(m.messageId)).includes('delivered')));
      await waitFor(() => smsc.deliveries.length === 100 && smsc.deliveries.every((d) => d.commandStatus === 0));
      for (const m of sent) expect(kinds(reports.of(m.messageId))).toEqual(['sent', 'delivered']);
      expect(smsc.submits).toHaveLength(100);
    });

    it('hands the same message over twice in flight: submitted once', async () => {
      const { channel, reports, smsc } = await boundChannel({ submitRespDelayMs: 100 });
      const m = message();
      channel.send(m);
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 2);
      expect(smsc.submits).toHaveLength(1);
    });

    it('matches a receipt that arrives after a restart (new channel, same database)', async () => {
      const smsc = await simulator();
      const connector = await connectorFor(smsc);
      const routes = [{ accountId: ACCOUNT, sender: SENDER, connectorId: connector.id }];
      smsc.pauseDeliveries();
      const first = await startChannel([connector], routes);
      await waitFor(() => first.channel.isReady(SENDER));
      const m = message();
      first.channel.send(m);
      await waitFor(() => first.reports.of(m.messageId).length === 1);
      await first.channel.stop();
      await waitFor(() => smsc.boundSessions === 0);

      const second = await startChannel([connector], routes);
      // Nothing is asked of the new channel (it has no awaitReceipt): the SMSC sends the receipt to whichever bind is up.
      expect('awaitReceipt' in second.channel).toBe(false);
      await waitFor(() => second.channel.isReady(SENDER));
      smsc.resumeDeliveries();
      await waitFor(() => second.reports.of(m.messageId).length === 1);
      expect(second.reports.of(m.messageId)).toEqual([{ kind: 'delivered', messageId: m.messageId, dlrDate: expect.stringMatching(/^\d{10}$/) }]);
      expect(smsc.submits).toHaveLength(1);
    });

    it('reports sent again, without submitting again, a message handed over after a restart whose parts were all recorded', async () => {
      const { channel, reports, smsc } = await boundChannel({ autoReceipts: false });
      // The first owner recorded the parts but its `sent` could not be appended.
      reports.gate = async (r) => {
        if (r.kind === 'sent') throw new Error('event store unavailable');
      };
      const m = message({ body: 'y'.repeat(200), segmentCount: 2 });
      channel.send(m);
      await waitFor(() => smsc.submits.length === 2);
      await sleep(200);
      expect(reports.of(m.messageId)).toEqual([]);
      expect(await rowsOf(m.messageId)).toHaveLength(2);
      reports.gate = null;
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 1);
      expect(reports.of(m.messageId)).toEqual([{ kind: 'sent', messageId: m.messageId, providerMessageId: smsc.submits[0]?.messageId }]);
      expect(smsc.submits).toHaveLength(2);
    });

    it('answers a receipt only once the outcome is recorded, and asks the SMSC to send it again when that failed', async () => {
      const { channel, reports, smsc } = await boundChannel({ dlrDelayMs: 50 });
      let failNext = true;
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      reports.gate = async (r) => {
        if (r.kind !== 'delivered') return;
        if (failNext) {
          failNext = false;
          throw new Error('event store unavailable');
        }
        await held;
      };
      const m = message();
      channel.send(m);
      await waitFor(() => smsc.deliveries.length === 2);
      expect(smsc.deliveries[0]?.commandStatus).toBe(SmppStatus.ESME_RX_T_APPN);
      await sleep(100);
      expect(smsc.deliveries[1]?.commandStatus).toBeNull(); // the report is not recorded yet
      release();
      await waitFor(() => smsc.deliveries[1]?.commandStatus === 0);
      expect(kinds(reports.of(m.messageId))).toEqual(['sent', 'delivered']);
    });

    it('answers a receipt for an unknown carrier id with a temporary error after looking again', async () => {
      const registry = new Registry();
      const { smsc, connector } = await boundChannel({}, { registry });
      smsc.injectReceipt({ messageId: 'not-ours', outcome: 'delivered' });
      await waitFor(() => smsc.deliveries[0]?.commandStatus !== null && smsc.deliveries[0]?.commandStatus !== undefined);
      expect(smsc.deliveries[0]).toMatchObject({ subject: 'not-ours', commandStatus: SmppStatus.ESME_RX_T_APPN });
      const metrics = await registry.getMetricsAsJSON();
      const receipts = metrics.find((m) => m.name === 'reach_smpp_receipts_total');
      expect(receipts?.values).toContainEqual(expect.objectContaining({ labels: { connector: connector.id, outcome: 'unknown' }, value: 1 }));
    });
  });

  describe('failures', () => {
    it('fails a message the SMSC rejects with 30004 and the status name', async () => {
      const { channel, reports } = await boundChannel({ rejectRate: 1 });
      const m = message();
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 1);
      expect(reports.of(m.messageId)).toEqual([
        { kind: 'failed', messageId: m.messageId, errorCode: 30004, reason: 'SMSC rejected submit_sm: ESME_RSUBMITFAIL (0x00000045)' },
      ]);
      expect(await rowsOf(m.messageId)).toEqual([]);
    });

    it('retries a throttled submit with backoff and sends it', async () => {
      const { channel, reports, smsc } = await boundChannel();
      smsc.submitPolicy = (_, index) => (index < 2 ? { commandStatus: SmppStatus.ESME_RTHROTTLED } : undefined);
      const m = message();
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 2);
      expect(kinds(reports.of(m.messageId))).toEqual(['sent', 'delivered']);
      expect(smsc.submits.map((s) => s.messageId === null)).toEqual([true, true, false]);
    });

    it('fails with 30004 when the SMSC keeps throttling', async () => {
      const { channel, reports, smsc } = await boundChannel();
      smsc.submitPolicy = () => ({ commandStatus: SmppStatus.ESME_RTHROTTLED });
      const m = message();
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 1);
      expect(reports.of(m.messageId)).toEqual([
        { kind: 'failed', messageId: m.messageId, errorCode: 30004, reason: 'SMSC rejected submit_sm: ESME_RTHROTTLED (0x00000058)' },
      ]);
      expect(smsc.submits).toHaveLength(4); // the first try and three retries
    });

    it('fails a message whose validity is over before it is submitted with 30001', async () => {
      const { channel, reports, smsc } = await boundChannel();
      const m = message({ expiresAt: new Date(Date.now() - 1000) });
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 1);
      expect(reports.of(m.messageId)[0]).toMatchObject({ kind: 'failed', errorCode: 30001 });
      expect(smsc.submits).toHaveLength(0);
    });

    it('re-submits after a bind loss only the parts that had no resp, same UDH reference, and reports sent once', async () => {
      const { channel, reports, smsc } = await boundChannel();
      // The resps of parts 2 and 3 are lost with the connection.
      smsc.submitPolicy = (submit, index) => (index > 0 && index < 3 ? { hold: true } : undefined);
      const m = message({ body: 'z'.repeat(400), segmentCount: 3 });
      channel.send(m);
      await waitFor(() => smsc.submits.length === 3);
      smsc.dropAll();
      await waitFor(() => kinds(reports.of(m.messageId)).includes('delivered'));
      const seqs = smsc.submits.map((s) => s.udh[0]?.slice(-2));
      expect(seqs).toEqual(['01', '02', '03', '02', '03']);
      expect(new Set(smsc.submits.map((s) => s.udh[0]?.slice(0, 6))).size).toBe(1);
      expect(reports.of(m.messageId)).toEqual([
        { kind: 'sent', messageId: m.messageId, providerMessageId: smsc.submits[0]?.messageId },
        { kind: 'delivered', messageId: m.messageId, dlrDate: expect.stringMatching(/^\d{10}$/) },
      ]);
      expect((await rowsOf(m.messageId)).map((r) => r.carrier_message_id)).toEqual([smsc.submits[0], smsc.submits[3], smsc.submits[4]].map((s) => s?.messageId));
    });

    it('sends a part again on a fresh bind when its submit_sm_resp never comes, and reports sent and delivered once', async () => {
      const { channel, reports, smsc } = await boundChannel({}, { bind: { reconnect: { initialDelayMs: 50, maxDelayMs: 200 }, enquireLinkIntervalMs: 100, responseTimeoutMs: 300 } });
      smsc.submitPolicy = (_submit, index) => (index === 0 ? { hold: true } : undefined);
      const m = message();
      channel.send(m);
      await waitFor(() => kinds(reports.of(m.messageId)).includes('delivered'));
      expect(smsc.submits).toHaveLength(2);
      expect(smsc.bindCount).toBe(2);
      expect(kinds(reports.of(m.messageId))).toEqual(['sent', 'delivered']);
      expect(reports.of(m.messageId)[0]).toMatchObject({ providerMessageId: smsc.submits[1]?.messageId });
    });

    it('fails with 30003 when the bind drops before the resp three times', async () => {
      const { channel, reports, smsc } = await boundChannel();
      smsc.submitPolicy = () => ({ hold: true });
      const m = message();
      channel.send(m);
      for (let attempt = 1; attempt <= 3; attempt++) {
        await waitFor(() => smsc.submits.length === attempt);
        smsc.dropAll();
      }
      await waitFor(() => reports.of(m.messageId).length === 1);
      expect(reports.of(m.messageId)[0]).toMatchObject({ kind: 'failed', errorCode: 30003 });
    });
  });

  describe('MO', () => {
    it('records an MO and answers it only afterwards', async () => {
      const { reports, smsc, connector } = await boundChannel();
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      reports.gate = (r) => (r.kind === 'received' ? held : Promise.resolve());
      smsc.injectMo({ source: '14155550177', destination: '14155550100', text: 'HELP' });
      await waitFor(() => smsc.deliveries.length === 1);
      await sleep(100);
      expect(smsc.deliveries[0]?.commandStatus).toBeNull();
      release();
      await waitFor(() => smsc.deliveries[0]?.commandStatus === 0);
      expect(reports.reports).toEqual([
        { kind: 'received', channel: 'smpp', sms: { key: expect.stringMatching(new RegExp(`^${connector.id}:`)), from: '+14155550177', to: '+14155550100', body: 'HELP' } },
      ]);
    });

    it('reassembles a concatenated MO into one received SMS and answers every part', async () => {
      const { reports, smsc } = await boundChannel();
      const body = 'Ответ на ваш вопрос: да, приду завтра в десять. '.repeat(3);
      smsc.injectMo({ source: '14155550177', destination: '14155550100', text: body, userMessageReference: 42 });
      await waitFor(() => reports.reports.length === 1);
      expect(reports.reports[0]).toMatchObject({ kind: 'received', sms: { from: '+14155550177', to: '+14155550100', body } });
      await waitFor(() => smsc.deliveries.length === 3 && smsc.deliveries.every((d) => d.commandStatus === 0));
    });

    it('gives a re-sent MO the same key, and another SMS with the same text another key', async () => {
      const { reports, smsc } = await boundChannel();
      const keys: string[] = [];
      reports.gate = async (r) => {
        if (r.kind !== 'received') return;
        keys.push(r.sms.key);
        if (keys.length === 1) throw new Error('event store unavailable');
      };
      smsc.injectMo({ source: '14155550177', destination: '14155550100', text: 'STOP', userMessageReference: 7 });
      await waitFor(() => smsc.deliveries.length === 2 && smsc.deliveries[1]?.commandStatus === 0);
      expect(smsc.deliveries.map((d) => d.commandStatus)).toEqual([SmppStatus.ESME_RX_T_APPN, 0]);
      smsc.injectMo({ source: '14155550177', destination: '14155550100', text: 'STOP', userMessageReference: 8 });
      await waitFor(() => reports.reports.length === 2);
      expect(keys).toHaveLength(3);
      expect(keys[1]).toBe(keys[0]);
      expect(keys[2]).not.toBe(keys[0]);
    });

    it('answers an MO the dispatcher refuses (not our number) with a permanent error', async () => {
      const { reports, smsc } = await boundChannel();
      reports.gate = async () => {
        throw new RefusedError('inbound SMS to +14155550999, which is not a provisioned number');
      };
      smsc.injectMo({ source: '14155550177', destination: '14155550999', text: 'hello?' });
      await waitFor(() => smsc.deliveries[0]?.commandStatus === SmppStatus.ESME_RX_P_APPN);
    });
  });

  describe('metrics', () => {
    it('exposes binds up, submits and receipts per connector', async () => {
      const registry = new Registry();
      const { channel, reports, connector } = await boundChannel({}, { registry });
      const m = message();
      channel.send(m);
      await waitFor(() => reports.of(m.messageId).length === 2);
      const text = await registry.metrics();
      expect(text).toContain(`reach_smpp_binds_up{connector="${connector.id}"} 1`);
      expect(text).toContain(`reach_smpp_submits_total{connector="${connector.id}",outcome="accepted"} 1`);
      expect(text).toContain(`reach_smpp_receipts_total{connector="${connector.id}",outcome="delivered"} 1`);
      expect(text).toContain(`reach_smpp_window_outstanding{connector="${connector.id}"} 0`);
      await channel.stop();
      expect(await registry.metrics()).not.toContain(`reach_smpp_binds_up{connector="${connector.id}"} 1`);
    });
  });
});
