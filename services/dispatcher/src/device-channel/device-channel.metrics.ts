import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DeviceCommandOutcome = 'written' | 'resent' | 'unbound' | 'expired';
export type DeviceReportStep = 'accepted' | 'sent' | 'delivered' | 'failed' | 'inbound';

export interface DeviceChannelMetrics {
  command(outcome: DeviceCommandOutcome): void;
  /** A report or inbound SMS recorded (the device was acked). */
  recorded(step: DeviceReportStep): void;
  /** From `sendCommand` to the first write on the device's socket (pacing and offline time included). */
  written(seconds: number): void;
}

const none: DeviceChannelMetrics = { command: () => undefined, recorded: () => undefined, written: () => undefined };

/**
 * `reach_devices_online` (read when scraped), `reach_device_commands_total{outcome}`,
 * `reach_device_reports_total{step}` and `reach_device_command_write_seconds`. Without a
 * registry, nothing is recorded.
 */
export function createDeviceChannelMetrics(registry: Registry | undefined, onlineCount: () => number): DeviceChannelMetrics {
  if (!registry) return none;
  const registers = [registry];
  new Gauge({
    name: 'reach_devices_online',
    help: 'Devices connected to this replica and greeted',
    registers,
    collect() {
      this.set(onlineCount());
    },
  });
  const commands = new Counter({
    name: 'reach_device_commands_total',
    help: 'Send commands by outcome: written (first write to the device), resent (after a reconnect), unbound (no device for the number), expired (validity ended before the device took it)',
    labelNames: ['outcome'],
    registers,
  });
  const reports = new Counter({
    name: 'reach_device_reports_total',
    help: 'Device reports and inbound SMS recorded and acknowledged, by step',
    labelNames: ['step'],
    registers,
  });
  const latency = new Histogram({
    name: 'reach_device_command_write_seconds',
    help: 'Time from handing a command to the gateway to writing it to the device (pacing and offline time included)',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 60, 300, 3600],
    registers,
  });
  return {
    command: (outcome) => commands.inc({ outcome }),
    recorded: (step) => reports.inc({ step }),
    written: (seconds) => latency.observe(seconds),
  };
}
