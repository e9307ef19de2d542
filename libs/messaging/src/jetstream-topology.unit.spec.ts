import { natsNames } from '@reach/contracts';
import { nanos, RetentionPolicy, StorageType } from 'nats';
import { topologyStreamConfigs } from './jetstream-topology';

describe('topologyStreamConfigs', () => {
  const names = natsNames('unit');
  const day = 24 * 60 * 60 * 1000;

  it('keeps events a week, dead letters a month, and deduplicates for ten minutes', () => {
    const [events, commands, deadLetters] = topologyStreamConfigs(names);
    expect(events).toMatchObject({
      name: names.eventsStream,
      subjects: [names.allEvents],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      max_age: nanos(7 * day),
      duplicate_window: nanos(10 * 60 * 1000),
      num_replicas: 1,
    });
    expect(commands).toMatchObject({ name: names.commandsStream, subjects: [names.allCommands], duplicate_window: nanos(10 * 60 * 1000) });
    expect(deadLetters).toMatchObject({ name: names.deadLetterStream, subjects: [names.allDeadLetters], max_age: nanos(30 * day) });
  });

  it('takes retention and replicas from the options, never a duplicate window beyond max age', () => {
    const [events] = topologyStreamConfigs(names, { eventsMaxAgeMs: 60_000, replicas: 3 });
    expect(events).toMatchObject({ max_age: nanos(60_000), duplicate_window: nanos(60_000), num_replicas: 3 });
  });
});
