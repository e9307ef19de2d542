'use strict';
/**
 * The receiving side of `npm run bench:callbacks`, in a process of its own so it does not share
 * an event loop with the sender. Listens on the ports it is given over IPC: "healthy" ports
 * answer 200 at once, "dead" ports accept the connection and never answer (a timing-out
 * endpoint). Records when each delivery id first arrived and hands the record over on request.
 */
const http = require('node:http');

const firstSeen = new Map();
let requests = 0;
const servers = [];

function listen(port, healthy) {
  const server = http.createServer((req, res) => {
    requests += 1;
    const id = req.headers['x-reachcell-delivery-id'] ?? req.headers['x-reach-delivery-id'];
    req.resume();
    req.on('end', () => {
      if (!healthy) return; // never answers: the sender's timeout ends it
      if (typeof id === 'string' && !firstSeen.has(id)) firstSeen.set(id, Date.now());
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  servers.push(server);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server.address().port)));
}

process.on('message', async (message) => {
  if (message.type === 'listen') {
    const ports = [];
    for (const healthy of message.endpoints) ports.push(await listen(0, healthy));
    process.send({ type: 'listening', ports });
  } else if (message.type === 'report') {
    process.send({ type: 'report', requests, firstSeen: [...firstSeen] });
  } else if (message.type === 'reset') {
    firstSeen.clear();
    requests = 0;
    process.send({ type: 'reset' });
  } else if (message.type === 'stop') {
    for (const server of servers) server.closeAllConnections();
    process.exit(0);
  }
});
