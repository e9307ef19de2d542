import { randomBytes, randomUUID } from 'node:crypto';
import { natsNames, SimulateInbound } from '@reach/contracts';
import { connectNats, deleteTopology, drainNats, ensureTopology } from '@reach/messaging';
import { createTestDatabase, testNamespace, testUrls, type TestDatabase } from '@reach/testing';
import type { NatsConnection } from 'nats';
import pino from 'pino';
import { createAccountCommand } from './account.command';
import { CliError } from './cli-errors';
import { main } from './main';
import { addNumberCommand } from './number.command';
import { buildSimulateInbound, simulateInbound } from './simulate.command';

const issuing = { apiKeySecret: randomBytes(32) };
const apiKeySecret = { kind: 'value' as const, secret: issuing.apiKeySecret };

const logger = pino({ level: 'silent' });
const names = natsNames(testNamespace());
const now = new Date('2026-11-22T12:00:00.000Z');
let database: TestDatabase;
let nc: NatsConnection;

beforeAll(async () => {
  database = await createTestDatabase();
  nc = await connectNats({ url: testUrls.nats, name: 'reachctl-simulate-test', logger });
  await ensureTopology(nc, names);
  const { accountId } = await createAccountCommand(database.db, { name: 'Inbound', allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);
  await addNumberCommand(database.db, { accountId, number: '+14155552671', channel: 'simulated' }, now);
});

afterAll(async () => {
  if (nc) {
    await deleteTopology(nc, names);
    await drainNats(nc);
  }
  await database?.drop();
});

async function commandsStored(namesOf = names): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return (await jsm.streams.info(namesOf.commandsStream)).state.messages;
}

async function lastCommand(namesOf = names) {
  const jsm = await nc.jetstreamManager();
  const stored = await jsm.streams.getMessage(namesOf.commandsStream, { last_by_subj: namesOf.commandSubject('simulate-inbound') });
  return { msgId: stored.header.get('Nats-Msg-Id'), command: SimulateInbound.parse(stored.json()) };
}

describe('reachctl simulate inbound', () => {
  it('publishes a SimulateInbound command whose id is the message id', async () => {
    const id = randomUUID();
    const command = buildSimulateInbound({ from: '+14155550100', to: '+14155552671', body: 'hello' }, now, id);

    expect(await simulateInbound({ db: database.db, js: nc.jetstream(), names }, command)).toEqual({ messageId: id });
    expect(await lastCommand()).toEqual({
      msgId: id,
      command: { commandId: id, from: '+14155550100', to: '+14155552671', body: 'hello', issuedAt: now.toISOString() },
    });
  });

  it('refuses a recipient that is not provisioned and publishes nothing', async () => {
    const before = await commandsStored();
    const command = buildSimulateInbound({ from: '+14155550100', to: '+14155550199', body: 'hello' }, now, randomUUID());

    await expect(simulateInbound({ db: database.db, js: nc.jetstream(), names }, command)).rejects.toThrow(
      /^\+14155550199 is not provisioned/,
    );
    expect(await commandsStored()).toBe(before);
  });

  it('validates the flags before connecting anywhere', () => {
    expect(() => buildSimulateInbound({ from: '4155550100', to: '+14155552671', body: 'hi' }, now, randomUUID())).toThrow(CliError);
    expect(() => buildSimulateInbound({ from: '+14155550100', to: '+14155552671', body: '' }, now, randomUUID())).toThrow(/--body/);
    expect(() => buildSimulateInbound({ from: '+14155550100', to: '+1415', body: 'hi' }, now, randomUUID())).toThrow(/--to/);
  });

  it('works from the command line, creating the streams when the platform has not run yet', async () => {
    const freshNamespace = testNamespace();
    const fresh = natsNames(freshNamespace);
    const out: string[] = [];
    const err: string[] = [];
    try {
      const code = await main(['node', 'reachctl', 'simulate', 'inbound', '--from', '+14155550100', '--to', '+14155552671', '--body', 'hi there', '--json'], {
        io: { out: (line) => out.push(line), err: (line) => err.push(line) },
        readConfig: () => ({ databaseUrl: database.url, natsUrl: testUrls.nats, namespace: freshNamespace, apiKeySecret }),
      });
      expect({ code, err }).toEqual({ code: 0, err: [] });
      const { messageId } = JSON.parse(out[0]!) as { messageId: string };
      expect(messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(await lastCommand(fresh)).toMatchObject({ msgId: messageId, command: { commandId: messageId, body: 'hi there' } });
    } finally {
      await deleteTopology(nc, fresh);
    }
  });
});
