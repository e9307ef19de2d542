import { parseArgs } from 'node:util';
import { Namespace } from '@reach/contracts';
import { runSubscriber, type ReceivedEvent } from './subscriber';

/**
 * Prints one line per relayed event (stdout) until Ctrl-C; diagnostics go to stderr.
 *
 *   node examples/event-subscriber/dist/main.js [--nats-url nats://127.0.0.1:4222] [--namespace reach] [--durable example-event-subscriber]
 */
const usage = 'usage: main.js [--nats-url URL] [--namespace NS] [--durable NAME]';

function describe({ event, eventId, streamId, revision, createdAt }: ReceivedEvent): string {
  return `${createdAt} ${event.type} ${streamId}@${revision} account=${event.data.accountId} event=${eventId}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'nats-url': { type: 'string', default: 'nats://127.0.0.1:4222' },
      namespace: { type: 'string', default: 'reach' },
      durable: { type: 'string', default: 'example-event-subscriber' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const namespace = Namespace.safeParse(values.namespace);
  if (!namespace.success) throw new Error(`--namespace ${values.namespace}: ${namespace.error.issues[0]?.message ?? 'invalid'}`);
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  await runSubscriber({
    natsUrl: values['nats-url'],
    namespace: namespace.data,
    durable: values.durable,
    signal: stop.signal,
    onEvent: (received) => {
      console.log(describe(received));
    },
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  console.error(usage);
  process.exitCode = 1;
});
