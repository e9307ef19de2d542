import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { natsNames, type SimulateInbound } from '@reach/contracts';
import { testNamespace, testUrls } from '@reach/testing';
import type { NatsConnection } from 'nats';
import { parseCommand, publishCommand } from './command-bus';
import { deleteTopology, ensureTopology } from './jetstream-topology';
import { connectNats, drainNats } from './nats-connection';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

describe('publishCommand', () => {
  const names = natsNames(testNamespace());
  let nc: NatsConnection;

  beforeAll(async () => {
    nc = await connectNats({ url: testUrls.nats, name: 'messaging-command-test', logger });
    await ensureTopology(nc, names);
  });

  afterAll(async () => {
    await deleteTopology(nc, names);
    await drainNats(nc);
  });

  const simulateInbound = (): SimulateInbound => ({
    commandId: randomUUID(),
    from: '+14155552671',
    to: '+447700900123',
    body: 'hi there',
    issuedAt: '2026-11-22T10:00:00.000Z',
  });

  it('stores the command on its subject in the commands stream, once per command id', async () => {
    const js = nc.jetstream();
    const command = simulateInbound();
    const first = await publishCommand(js, names, 'simulate-inbound', command, command.commandId);
    const second = await publishCommand(js, names, 'simulate-inbound', command, command.commandId);
    expect(first).toMatchObject({ stream: names.commandsStream, duplicate: false });
    expect(second.duplicate).toBe(true);

    const jsm = await nc.jetstreamManager();
    const stored = await jsm.streams.getMessage(names.commandsStream, { last_by_subj: names.commandSubject('simulate-inbound') });
    expect(stored.seq).toBe(first.seq);
    expect(parseCommand('simulate-inbound', stored.json())).toEqual(command);
  });

  it('refuses an invalid payload or a command id that differs from the payload', async () => {
    const js = nc.jetstream();
    const command = simulateInbound();
    await expect(publishCommand(js, names, 'simulate-inbound', { ...command, body: '' }, command.commandId)).rejects.toThrow();
    await expect(publishCommand(js, names, 'simulate-inbound', command, randomUUID())).rejects.toThrow(/differs/);
  });
});
