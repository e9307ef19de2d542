import { randomBytes } from 'node:crypto';
import { AccountsError, findNumber } from '@reach/accounts';
import { createWebhook, type ReachCellWebhookEvent } from '@reach/webhooks';
import { createTestDatabase, testUrls, type TestDatabase } from '@reach/testing';
import { createAccountCommand } from './account.command';
import { main } from './main';
import { addNumberCommand, releaseNumberCommand } from './number.command';

const issuing = { apiKeySecret: randomBytes(32) };
const apiKeySecret = { kind: 'value' as const, secret: issuing.apiKeySecret };

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const now = new Date('2026-11-22T12:00:00.000Z');
const newAccount = (name: string) => createAccountCommand(database.db, { name, allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);

function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const readConfig = () => ({ databaseUrl: database.url, natsUrl: testUrls.nats, namespace: 'reach', apiKeySecret });
  const exit = main(['node', 'reachctl', ...args], { io: { out: (line) => out.push(line), err: (line) => err.push(line) }, readConfig });
  return exit.then((code) => ({ code, out, err }));
}

describe('reachctl number add', () => {
  it('provisions a number, idempotently, and refuses it to a second account', async () => {
    const first = await newAccount('First');
    const second = await newAccount('Second');

    const added = await addNumberCommand(database.db, { accountId: first.accountId, number: '+14155552671', channel: 'simulated' }, now);
    expect(added).toEqual({ number: '+14155552671', accountId: first.accountId, channel: 'simulated' });
    expect(await addNumberCommand(database.db, { accountId: first.accountId, number: '+14155552671', channel: 'simulated' }, now)).toEqual(added);

    const taken = addNumberCommand(database.db, { accountId: second.accountId, number: '+14155552671', channel: 'simulated' }, now);
    await expect(taken).rejects.toBeInstanceOf(AccountsError);
    await expect(taken).rejects.toMatchObject({ code: 'NUMBER_TAKEN' });
  });

  it('prints number, accountId and channel with --json', async () => {
    const { accountId } = await newAccount('Json');

    const { code, out, err } = await run('number', 'add', '--account', accountId, '--number', '+447911123456', '--channel', 'smpp', '--json');
    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out.map((line) => JSON.parse(line) as unknown)).toEqual([{ number: '+447911123456', accountId, channel: 'smpp' }]);
    expect(await findNumber(database.db, '+447911123456')).toEqual({ e164: '+447911123456', accountId, channel: 'smpp', deviceId: null, simSlot: null, connectorId: null });

    const defaulted = await run('number', 'add', '--account', accountId, '--number', '+447911123457', '--json');
    expect(JSON.parse(defaulted.out[0]!)).toEqual({ number: '+447911123457', accountId, channel: 'simulated' });
  });

  it('reports invalid numbers, unknown accounts and unknown channels on stderr with exit code 1', async () => {
    const { accountId } = await newAccount('Errors');

    const invalid = await run('number', 'add', '--account', accountId, '--number', '+1 415 555 2671');
    expect(invalid).toMatchObject({ code: 1, out: [] });
    expect(invalid.err).toEqual([expect.stringMatching(/not a valid E\.164 number.*\[INVALID_NUMBER\]$/)]);

    const unknown = await run('number', 'add', '--account', '00000000-0000-4000-8000-000000000000', '--number', '+14155552672');
    expect(unknown).toMatchObject({ code: 1, out: [] });
    expect(unknown.err).toEqual([expect.stringMatching(/\[ACCOUNT_NOT_FOUND\]$/)]);

    const channel = await run('number', 'add', '--account', accountId, '--number', '+14155552672', '--channel', 'fax');
    expect(channel.code).toBe(1);
    expect(channel.err.join('\n')).toMatch(/Allowed choices are simulated, device, smpp/);
    expect(await findNumber(database.db, '+14155552672')).toBeNull();
  });
});

describe('number events for webhooks', () => {
  async function accountWithWebhook(name: string, events: readonly ReachCellWebhookEvent[]) {
    const { accountId } = await newAccount(name);
    const { webhook } = await createWebhook(database.db, { accountId, url: 'https://hooks.example.com/reach', label: name, events, now });
    return { accountId, webhookId: webhook.id };
  }

  const deliveriesOf = (accountId: string) =>
    database.db.selectFrom('deliveries').selectAll().where('account_id', '=', accountId).orderBy('sequence').orderBy('event_type').execute();

  it('plans exactly one pending number.assigned delivery, in the ReachCell envelope, for a subscribed webhook', async () => {
    const { accountId, webhookId } = await accountWithWebhook('Assigned', ['number.assigned', 'sms.delivered']);
    const eventId = '6f1c2a30-8d4e-4b7f-9a12-3c4d5e6f7a8b';

    await addNumberCommand(database.db, { accountId, number: '+14155552681', channel: 'device' }, now, () => eventId);
    // Adding it again changes nothing, so it announces nothing either.
    await addNumberCommand(database.db, { accountId, number: '+14155552681', channel: 'device' }, now);

    const deliveries = await deliveriesOf(accountId);
    expect(deliveries).toHaveLength(1);
    const [delivery] = deliveries;
    expect(delivery).toMatchObject({
      kind: 'webhook',
      webhook_id: webhookId,
      message_id: null,
      event_id: eventId,
      event_type: 'number.assigned',
      url: 'https://hooks.example.com/reach',
      state: 'pending',
      attempts: 0,
      content_type: 'application/json',
      next_attempt_at: now,
    });
    expect(JSON.parse(delivery!.payload)).toEqual({
      event_id: eventId,
      event_type: 'number.assigned',
      api_version: 'v1',
      timestamp: '2026-11-22T12:00:00Z',
      data: { number: '+14155552681', channel: 'device', assigned_at: '2026-11-22T12:00:00Z' },
    });
  });

  it('plans nothing for a webhook not subscribed to the event, nor for another account’s webhook', async () => {
    const { accountId } = await accountWithWebhook('Unsubscribed', ['sms.delivered', 'number.released']);
    const bystander = await accountWithWebhook('Bystander', ['number.assigned', 'number.released']);

    await addNumberCommand(database.db, { accountId, number: '+14155552682', channel: 'simulated' }, now);

    expect(await deliveriesOf(accountId)).toEqual([]);
    expect(await deliveriesOf(bystander.accountId)).toEqual([]);
  });

  it('leaves no delivery when the insert fails because another account holds the number', async () => {
    const holder = await newAccount('Holder');
    await addNumberCommand(database.db, { accountId: holder.accountId, number: '+14155552683', channel: 'simulated' }, now);
    const { accountId } = await accountWithWebhook('Too late', ['number.assigned']);

    const taken = addNumberCommand(database.db, { accountId, number: '+14155552683', channel: 'simulated' }, now);
    await expect(taken).rejects.toMatchObject({ code: 'NUMBER_TAKEN' });
    expect(await deliveriesOf(accountId)).toEqual([]);
  });

  it('rolls the number back when the delivery cannot be planned (one transaction)', async () => {
    const { accountId } = await accountWithWebhook('Atomic', ['number.assigned']);

    // The event id is drawn after the number's insert: failing there must undo the insert.
    const failing = addNumberCommand(database.db, { accountId, number: '+14155552684', channel: 'simulated' }, now, () => {
      throw new Error('no id for you');
    });
    await expect(failing).rejects.toThrow('no id for you');
    expect(await findNumber(database.db, '+14155552684')).toBeNull();
    expect(await deliveriesOf(accountId)).toEqual([]);
  });

  it('release deletes the number and plans number.released', async () => {
    const { accountId, webhookId } = await accountWithWebhook('Released', ['number.assigned', 'number.released']);
    await addNumberCommand(database.db, { accountId, number: '+14155552685', channel: 'smpp' }, now);
    const later = new Date('2026-11-22T13:30:00.000Z');

    const released = await releaseNumberCommand(database.db, { accountId, number: '+14155552685' }, later, () => 'f0e1d2c3-b4a5-4678-9a0b-1c2d3e4f5a6b');
    expect(released).toEqual({ number: '+14155552685', accountId, channel: 'smpp' });
    expect(await findNumber(database.db, '+14155552685')).toBeNull();

    const deliveries = await deliveriesOf(accountId);
    expect(deliveries.map((d) => d.event_type)).toEqual(['number.assigned', 'number.released']);
    expect(deliveries[1]).toMatchObject({ webhook_id: webhookId, state: 'pending', event_id: 'f0e1d2c3-b4a5-4678-9a0b-1c2d3e4f5a6b' });
    expect(JSON.parse(deliveries[1]!.payload)).toEqual({
      event_id: 'f0e1d2c3-b4a5-4678-9a0b-1c2d3e4f5a6b',
      event_type: 'number.released',
      api_version: 'v1',
      timestamp: '2026-11-22T13:30:00Z',
      data: { number: '+14155552685', channel: 'smpp', released_at: '2026-11-22T13:30:00Z' },
    });
  });

  it('release refuses a number the account does not hold and plans nothing', async () => {
    const { accountId } = await accountWithWebhook('Not mine', ['number.released']);
    const holder = await newAccount('Owner');
    await addNumberCommand(database.db, { accountId: holder.accountId, number: '+14155552686', channel: 'simulated' }, now);

    const refused = releaseNumberCommand(database.db, { accountId, number: '+14155552686' }, now);
    await expect(refused).rejects.toBeInstanceOf(AccountsError);
    await expect(refused).rejects.toMatchObject({ code: 'NUMBER_NOT_PROVISIONED' });
    expect((await findNumber(database.db, '+14155552686'))?.accountId).toBe(holder.accountId);
    expect(await deliveriesOf(accountId)).toEqual([]);
  });

  it('number release from the command line prints JSON, and reports refusals with their codes', async () => {
    const { accountId } = await newAccount('Cli release');
    await run('number', 'add', '--account', accountId, '--number', '+14155552687', '--json');

    const released = await run('number', 'release', '--account', accountId, '--number', '+14155552687', '--json');
    expect(released).toEqual({ code: 0, out: [JSON.stringify({ number: '+14155552687', accountId, channel: 'simulated' })], err: [] });

    const again = await run('number', 'release', '--account', accountId, '--number', '+14155552687', '--json');
    expect(again).toMatchObject({ code: 1, out: [] });
    expect(again.err).toEqual([`reachctl: +14155552687 is not provisioned to account ${accountId} [NUMBER_NOT_PROVISIONED]`]);

    const invalid = await run('number', 'release', '--account', accountId, '--number', '14155552687');
    expect(invalid.err).toEqual([expect.stringMatching(/\[INVALID_NUMBER\]$/)]);
  });
});
