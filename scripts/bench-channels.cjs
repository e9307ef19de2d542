'use strict';
/**
 * `npm run bench:channels`: the two real channels at the edge of the platform, on the built libs
 * (no Postgres, no NATS). Each part runs its server side in a child process of its own.
 *
 *   1. SMPP: the SMSC simulator (scripts/bench-channels-smsc.cjs; receipts at once, all
 *      delivered) and one `SmppBind` (window BENCH_SMPP_WINDOW = 100, throughput cap
 *      BENCH_SMPP_CAP = 5,000/s, high enough not to be the limit) submitting BENCH_SMPP_MESSAGES =
 *      20,000 single-part messages, as many at a time as the window holds (one submit per free
 *      window slot, so the bind's queue stays empty and latencies are the window's, not a
 *      backlog's). Submitted/s (submit_sm_resp) and receipted/s (final receipts back), p50/p99 of
 *      submit → resp and submit → receipt. Then the cap at work: BENCH_SMPP_CAP_CHECK = 500/s on
 *      a fresh bind, 2,500 messages: throughput must settle at the cap, not at the window.
 *   2. Devices: a `DeviceGatewayServer` (scripts/bench-channels-gateway.cjs, run with
 *      --expose-gc), BENCH_DEVICES = 1,000 `DeviceSimulator`s connecting to it, spread over
 *      BENCH_DEVICE_PROCESSES = 2 processes (scripts/bench-channels-devices.cjs: real phones do not
 *      share an event loop, and one loop for all of them would measure itself), then a warm-up
 *      round and BENCH_DEVICE_ROUNDS = 5 rounds of one command per device, each round issued in
 *      one burst. Command-to-device latency = when the simulator got the `send` frame − when the
 *      gateway's `sendCommand` was called (stamped in the command's body; all processes read the
 *      same wall clock). The simulators report accepted / sent / delivered for every command, so
 *      reports flow back meanwhile. The gateway's RSS before any device connected, with all of
 *      them online, and after the rounds (each after a full GC). Pacing is raised to 6,000
 *      sends/min per device; with one command per device per round even the default 30/min would
 *      hold nothing back.
 *
 * Prints a result block per part and a JSON summary on stdout; progress on stderr. A script to
 * run and quote, not a test: figures depend on the machine. The gateway process needs an open file
 * per device (BENCH_DEVICES + some); it stops early, saying so, when `ulimit -n` is lower.
 */
const { execFileSync, fork } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const pino = require('pino');
const { round, sleep, summary } = require('./bench-stats.cjs');

const root = path.resolve(__dirname, '..');
const { SmppBind } = require(path.join(root, 'libs/smpp-channel/dist'));

const settings = {
  smppMessages: Number(process.env.BENCH_SMPP_MESSAGES ?? 20_000),
  smppWindow: Number(process.env.BENCH_SMPP_WINDOW ?? 100),
  smppCap: Number(process.env.BENCH_SMPP_CAP ?? 5_000),
  smppCapCheck: Number(process.env.BENCH_SMPP_CAP_CHECK ?? 500),
  smppCapCheckMessages: 2_500,
  devices: Number(process.env.BENCH_DEVICES ?? 1_000),
  deviceRounds: Number(process.env.BENCH_DEVICE_ROUNDS ?? 5),
  deviceProcesses: Number(process.env.BENCH_DEVICE_PROCESSES ?? 2),
  deviceSendsPerMinute: 6_000,
  connectConcurrency: 25,
};
const targets = { smppMessagesPerSecond: 1_000, gatewayRssMb: 200, commandP99Ms: 100 };

const log = (line) => process.stderr.write(`[bench:channels] ${line}\n`);
const silent = pino({ level: 'silent' });

// Every child is killed when this process ends, however it ends.
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    process.exit(130);
  });
}

function startChild(script, execArgv = []) {
  const child = fork(path.join(__dirname, script), [], { cwd: root, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (!child.stopping) {
      log(`${script} exited unexpectedly (${signal ?? code})`);
      process.exit(1);
    }
  });
  return child;
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stopping = true;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

function waitMessage(child, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`no ${type} from the child within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
  });
}

function ask(child, message, answer, timeoutMs = 30_000) {
  const answered = waitMessage(child, answer, timeoutMs);
  child.send(message);
  return answered;
}

async function waitFor(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(5);
  }
}

function openFilesLimit() {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return NaN;
  }
}

// ---- 1. SMPP ------------------------------------------------------------------------------------

async function smppRun(port, { messages, window, cap }) {
  const bind = new SmppBind({ host: '127.0.0.1', port, systemId: 'bench', password: 'secret', windowSize: window, throughputPerSecond: cap, logger: silent });
  const receiptAt = new Map();
  bind.on('receipt', (receipt, ack) => {
    if (!receiptAt.has(receipt.messageId)) receiptAt.set(receipt.messageId, performance.now());
    ack();
  });
  await bind.start();
  const submittedAt = new Float64Array(messages);
  const respAt = new Float64Array(messages);
  const ids = new Array(messages);
  let next = 0;
  let failed = 0;
  let peakQueued = 0;
  let peakInFlight = 0;
  const started = performance.now();
  // One lane per window slot: a lane submits its next message when the previous one's resp is in.
  const lane = async () => {
    while (next < messages) {
      const i = next++;
      submittedAt[i] = performance.now();
      try {
        const submitted = bind.submit({ source: '14155550100', destination: `1415556${String(i % 10_000).padStart(4, '0')}`, body: `bench message ${i}` });
        peakInFlight = Math.max(peakInFlight, bind.outstanding);
        ids[i] = (await submitted).messageIds[0];
      } catch {
        failed += 1;
      }
      respAt[i] = performance.now();
      peakQueued = Math.max(peakQueued, bind.queued);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, messages) }, lane));
  const lastResp = Math.max(...respAt);
  const expected = messages - failed;
  await waitFor(() => receiptAt.size >= expected, 60_000, `receipts (${receiptAt.size} of ${expected})`);
  const lastReceipt = Math.max(...receiptAt.values());
  await bind.close();
  const respLatency = [];
  const receiptLatency = [];
  for (let i = 0; i < messages; i++) {
    respLatency.push(respAt[i] - submittedAt[i]);
    const at = ids[i] === undefined ? undefined : receiptAt.get(ids[i]);
    if (at !== undefined) receiptLatency.push(at - submittedAt[i]);
  }
  return {
    messages,
    window,
    capPerSecond: cap,
    failed,
    receipts: receiptAt.size,
    submitSeconds: round((lastResp - started) / 1000, 2),
    submittedPerSecond: round(messages / ((lastResp - started) / 1000), 0),
    receiptedPerSecond: round(receiptAt.size / ((lastReceipt - started) / 1000), 0),
    submitToResp: summary(respLatency),
    submitToReceipt: summary(receiptLatency),
    peakInFlight,
    peakBindQueue: peakQueued,
  };
}

async function benchSmpp() {
  const smsc = startChild('bench-channels-smsc.cjs');
  try {
    const { port } = await ask(smsc, { type: 'start', systemId: 'bench', password: 'secret' }, 'listening');
    log(`smpp: ${settings.smppMessages} messages, window ${settings.smppWindow}, cap ${settings.smppCap}/s`);
    const main = await smppRun(port, { messages: settings.smppMessages, window: settings.smppWindow, cap: settings.smppCap });
    log(`smpp: cap check, ${settings.smppCapCheckMessages} messages at ${settings.smppCapCheck}/s`);
    const capped = await smppRun(port, { messages: settings.smppCapCheckMessages, window: settings.smppWindow, cap: settings.smppCapCheck });
    const smscStats = await ask(smsc, { type: 'stats' }, 'stats');
    return { main, capCheck: capped, smsc: { submits: smscStats.submits, receiptsSent: smscStats.deliveries, binds: smscStats.binds, peakOutstanding: smscStats.peakOutstanding } };
  } finally {
    await stopChild(smsc);
  }
}

// ---- 2. Devices ---------------------------------------------------------------------------------

async function benchDevices() {
  const gateway = startChild('bench-channels-gateway.cjs', ['--expose-gc']);
  const fleets = Array.from({ length: settings.deviceProcesses }, () => startChild('bench-channels-devices.cjs'));
  try {
    const started = await ask(gateway, { type: 'start', devices: settings.devices, sendsPerMinute: settings.deviceSendsPerMinute }, 'listening');
    const url = `ws://127.0.0.1:${started.port}/v1/device`;
    const shares = fleets.map((_, f) => {
      const from = Math.floor((f * settings.devices) / fleets.length);
      return { from, to: Math.floor(((f + 1) * settings.devices) / fleets.length) };
    });

    log(`devices: connecting ${settings.devices} simulators in ${fleets.length} processes (${settings.connectConcurrency} at a time each)`);
    const connectStarted = performance.now();
    const connected = await Promise.all(
      fleets.map((fleet, f) =>
        ask(fleet, { type: 'connect', url, ...shares[f], sendsPerMinute: settings.deviceSendsPerMinute, concurrency: settings.connectConcurrency }, 'connected', 60_000),
      ),
    );
    const failedFleet = connected.find((answer) => answer.error);
    if (failedFleet) throw new Error(`simulators could not connect: ${failedFleet.error}`);
    const connectMs = performance.now() - connectStarted;
    const online = await ask(gateway, { type: 'stats' }, 'stats');
    if (online.online !== settings.devices) throw new Error(`only ${online.online} of ${settings.devices} devices online`);
    log(`devices: all ${settings.devices} online in ${round(connectMs, 0)} ms; gateway RSS ${online.memory.rssMb} MB`);

    // Round 0 warms every process up (first use of each code path, JIT); reported, not counted.
    const rounds = [];
    const measured = [];
    const gatewayQueued = [];
    let simulatorLoopDelay = { p99Ms: 0, maxMs: 0 };
    for (let r = 0; r <= settings.deviceRounds; r++) {
      await Promise.all(fleets.map((fleet, f) => ask(fleet, { type: 'expect', count: shares[f].to - shares[f].from }, 'expecting')));
      const done = Promise.all(fleets.map((fleet) => waitMessage(fleet, 'round-done', 30_000)));
      const sent = await ask(gateway, { type: 'round', round: r, devices: settings.devices }, 'round-sent');
      const answers = await done;
      const these = answers.flatMap((answer) => answer.latencies);
      if (r > 0) {
        measured.push(...these);
        gatewayQueued.push(...sent.queuedMs);
        for (const answer of answers) {
          simulatorLoopDelay = { p99Ms: Math.max(simulatorLoopDelay.p99Ms, answer.loopDelay.p99Ms), maxMs: Math.max(simulatorLoopDelay.maxMs, answer.loopDelay.maxMs) };
        }
      }
      rounds.push({ round: r, sendCommandLoopMs: round(sent.sendMs, 1), ...summary(these) });
      log(`devices: round ${r}${r === 0 ? ' (warm-up)' : ''}: ${JSON.stringify(rounds[rounds.length - 1])}`);
      await sleep(300); // the simulators' accepted/sent/delivered reports of this round flow back meanwhile
    }
    await sleep(500);
    const after = await ask(gateway, { type: 'stats' }, 'stats');
    return {
      devices: settings.devices,
      simulatorProcesses: fleets.length,
      connectAllMs: round(connectMs, 0),
      commands: measured.length,
      commandToDevice: summary(measured),
      warmUpRound: rounds[0],
      perRound: rounds.slice(1),
      gatewayQueueToWrite: summary(gatewayQueued),
      simulatorLoopDelay: { p99Ms: round(simulatorLoopDelay.p99Ms), maxMs: round(simulatorLoopDelay.maxMs) },
      reportsRecordedByGateway: after.reports,
      gatewayMemory: { beforeDevices: started.memory, allOnline: online.memory, afterCommands: after.memory },
    };
  } finally {
    await Promise.all(fleets.map((fleet) => ask(fleet, { type: 'close' }, 'closed', 10_000).catch(() => undefined)));
    await Promise.all([...fleets, gateway].map(stopChild));
  }
}

// ---- report -------------------------------------------------------------------------------------

function verdict(ok) {
  return ok ? 'meets target' : 'MISSES target';
}

function printSmpp(smpp) {
  const { main, capCheck } = smpp;
  const ok = main.submittedPerSecond >= targets.smppMessagesPerSecond && main.receiptedPerSecond >= targets.smppMessagesPerSecond;
  process.stdout.write(
    [
      '',
      '== SMPP: one bind, window 100, SMSC simulator in its own process ==',
      `  ${main.messages} single-part messages, cap ${main.capPerSecond}/s (${main.submittedPerSecond < 0.9 * main.capPerSecond ? 'not reached: the window and the CPU set the pace' : 'reached: the cap sets the pace'}), ${main.failed} failed, peak ${main.peakInFlight} submit_sm in flight`,
      `  submitted ${main.submittedPerSecond}/s (submit_sm_resp), receipted ${main.receiptedPerSecond}/s (final DLRs back)   [target >= ${targets.smppMessagesPerSecond}/s: ${verdict(ok)}]`,
      `  submit -> resp     p50 ${main.submitToResp.p50Ms} ms  p99 ${main.submitToResp.p99Ms} ms  max ${main.submitToResp.maxMs} ms`,
      `  submit -> receipt  p50 ${main.submitToReceipt.p50Ms} ms  p99 ${main.submitToReceipt.p99Ms} ms  max ${main.submitToReceipt.maxMs} ms`,
      `  cap check: ${capCheck.messages} messages with the cap at ${capCheck.capPerSecond}/s -> ${capCheck.submittedPerSecond}/s submitted (the token bucket, not the window, sets the pace; submit -> resp p99 ${capCheck.submitToResp.p99Ms} ms includes the wait for a token)`,
      `  SMSC: ${smpp.smsc.submits} submits, ${smpp.smsc.receiptsSent} receipts sent, peak ${smpp.smsc.peakOutstanding} outstanding on a session`,
      '',
    ].join('\n'),
  );
}

function printDevices(devices) {
  const memory = devices.gatewayMemory;
  const rssOk = memory.allOnline.rssMb <= targets.gatewayRssMb && memory.afterCommands.rssMb <= targets.gatewayRssMb;
  const p99Ok = devices.commandToDevice.p99Ms <= targets.commandP99Ms;
  process.stdout.write(
    [
      '== Devices: DeviceGatewayServer in its own process, the simulators in others ==',
      `  ${devices.devices} devices online in ${devices.connectAllMs} ms`,
      `  gateway RSS: ${memory.beforeDevices.rssMb} MB before, ${memory.allOnline.rssMb} MB with all online, ${memory.afterCommands.rssMb} MB after the commands   [target <= ${targets.gatewayRssMb} MB: ${verdict(rssOk)}]`,
      `  gateway heap used: ${memory.beforeDevices.heapUsedMb} -> ${memory.allOnline.heapUsedMb} -> ${memory.afterCommands.heapUsedMb} MB`,
      `  ${devices.commands} commands (${devices.perRound.length} rounds x ${devices.devices}); command -> device p50 ${devices.commandToDevice.p50Ms} ms  p99 ${devices.commandToDevice.p99Ms} ms  max ${devices.commandToDevice.maxMs} ms   [target p99 <= ${targets.commandP99Ms} ms: ${verdict(p99Ok)}]`,
      `  per round p99: ${devices.perRound.map((r) => `${r.p99Ms} ms`).join(', ')} (warm-up round, not counted: p50 ${devices.warmUpRound.p50Ms} ms  p99 ${devices.warmUpRound.p99Ms} ms)`,
      `  gateway: sendCommand -> frame written p99 ${devices.gatewayQueueToWrite.p99Ms} ms; ${devices.devices} sendCommand calls take ${devices.perRound.map((r) => r.sendCommandLoopMs).join(' / ')} ms per round`,
      `  simulator processes' own event-loop delay (${devices.simulatorProcesses} processes sharing ${devices.devices} simulators; part of every figure above): p99 ${devices.simulatorLoopDelay.p99Ms} ms  max ${devices.simulatorLoopDelay.maxMs} ms (worst round)`,
      `  reports recorded by the gateway meanwhile: ${devices.reportsRecordedByGateway} (accepted/sent/delivered)`,
      '',
    ].join('\n'),
  );
}

async function main() {
  const openFiles = openFilesLimit();
  // The gateway process holds one socket per device (the simulators' ends are split over their processes).
  const needed = settings.devices + 200;
  // Other work on the machine shows up in every latency figure: the load is part of the report.
  const report = { settings, targets, machine: { cpus: os.cpus().length, node: process.version, openFilesLimit: openFiles, loadAverageAtStart: os.loadavg().map((n) => round(n, 2)) } };
  if (Number.isFinite(openFiles) && openFiles < needed) {
    log(`ulimit -n is ${openFiles}: the device gateway needs about ${needed} open files for ${settings.devices} devices. Raise it (ulimit -n ${needed * 2}) or lower BENCH_DEVICES.`);
    process.exit(1);
  }
  const began = performance.now();
  report.smpp = await benchSmpp();
  printSmpp(report.smpp);
  report.devices = await benchDevices();
  printDevices(report.devices);
  report.seconds = round((performance.now() - began) / 1000, 1);
  report.machine.loadAverageAtEnd = os.loadavg().map((n) => round(n, 2));
  process.stdout.write(`== machine: ${report.machine.cpus} CPUs, load average ${report.machine.loadAverageAtStart[0]} at start, ${report.machine.loadAverageAtEnd[0]} at end (1 min); ${report.seconds} s ==\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    log(`failed: ${error?.stack ?? String(error)}`);
    process.exit(1);
  },
);
