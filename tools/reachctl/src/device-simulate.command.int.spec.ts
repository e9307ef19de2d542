import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DeviceGatewayServer, hashDeviceToken, deviceTokenHashesEqual, type DeviceInboundSms, type DeviceReport } from '@reach/device-gateway';

/**
 * `reachctl device simulate` as its own process against a real device gateway: it connects with
 * the token, takes a command and reports accepted → sent → delivered, reports an SMS typed on
 * stdin, and stops on SIGINT. A refused token ends it with an error.
 */
const root = join(__dirname, '..', '..', '..');
const bin = join(root, 'tools', 'reachctl', 'bin', 'reachctl.js');
const TOKEN = 'dt_simulatecommandtesttoken0000000000000';
const stored = hashDeviceToken(TOKEN);

let gateway: DeviceGatewayServer;
const reports: DeviceReport[] = [];
const inbound: DeviceInboundSms[] = [];
let child: ChildProcess | undefined;

beforeAll(async () => {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'tools/reachctl'], { cwd: root, stdio: 'pipe' });
  gateway = await DeviceGatewayServer.start({
    port: 0,
    host: '127.0.0.1',
    lookup: async (token) =>
      deviceTokenHashesEqual(hashDeviceToken(token), stored) ? { deviceId: 'dev-sim', accountId: 'acc-sim', numbers: ['+14155550101'] } : null,
    onReport: async (report) => {
      reports.push(report);
    },
    onInbound: async (sms) => {
      inbound.push(sms);
    },
  });
}, 180_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await gateway.close();
});

function run(args: string[]): { process: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const started = spawn(process.execPath, [bin, 'device', 'simulate', ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  started.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  started.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => started.on('exit', (code) => resolve(code)));
  return { process: started, output: () => output, exit };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

it('speaks the device protocol: takes a command, reports it through to delivered, reports typed inbound SMS, stops on SIGINT', async () => {
  const sim = run(['--token', TOKEN, '--url', gateway.url, '--send-latency-ms', '10', '--delivery-latency-ms', '10']);
  child = sim.process;
  await until(() => gateway.isOnline('dev-sim'), 'the simulated phone to connect');

  gateway.sendCommand('dev-sim', { commandId: 'cmd-1', messageId: 'msg-1', destination: '+14155553000', body: 'hello', segments: 1 });
  await until(() => reports.length === 3, 'three reports');
  expect(reports.map((r) => r.step)).toEqual(['accepted', 'sent', 'delivered']);

  sim.process.stdin?.write('inbound +14155550177 Hello there\n');
  await until(() => inbound.length === 1, 'the inbound SMS');
  expect(inbound[0]).toMatchObject({ deviceId: 'dev-sim', from: '+14155550177', body: 'Hello there' });

  sim.process.kill('SIGINT');
  expect(await sim.exit).toBe(0);
  await until(() => !gateway.isOnline('dev-sim'), 'the phone to go offline');
});

it('ends with an error when the token is refused', async () => {
  const sim = run(['--token', 'dt_unknown', '--url', gateway.url]);
  child = sim.process;
  expect(await sim.exit).not.toBe(0);
  expect(sim.output()).toMatch(/401/);
});
