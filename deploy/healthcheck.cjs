#!/usr/bin/env node
'use strict';
// Container health check of a Reach service: GET /health (liveness) on the port the service
// listens on, exit 0 when it answers 2xx within 3 s, else 1. The service is the first argument
// or REACH_SERVICE (the image's default); its port comes from the same variable the service
// reads (PORT, DISPATCHER_PORT, …), with the same default.

const PORTS = {
  'api-gateway': ['PORT', 3000],
  dispatcher: ['DISPATCHER_PORT', 3001],
  scheduler: ['SCHEDULER_PORT', 3002],
  callbacks: ['CALLBACKS_PORT', 3003],
  projector: ['PROJECTOR_PORT', 3004],
};

const service = process.argv[2] || process.env.REACH_SERVICE || '';
const entry = PORTS[service];
if (!entry) {
  process.stderr.write(`healthcheck: unknown service "${service}" (one of ${Object.keys(PORTS).join(', ')})\n`);
  process.exit(1);
}
const [variable, fallback] = entry;
const port = process.env[variable] || String(fallback);

fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) }).then(
  (response) => process.exit(response.ok ? 0 : 1),
  (error) => {
    process.stderr.write(`healthcheck: ${service} on port ${port}: ${error && error.message ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
