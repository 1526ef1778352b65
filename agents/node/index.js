#!/usr/bin/env node
'use strict';
// Starts the risk-scorer agent: `node index.js [--host H] [--port P]`.
// Settings: AIRSPACE_AGENT_HOST, AIRSPACE_AGENT_PORT, AIRSPACE_AGENT_OTLP_ENDPOINT,
// AIRSPACE_AGENT_TELEMETRY_CREDENTIAL (given at registration),
// AIRSPACE_AGENT_RESULT_CACHE_SIZE, AIRSPACE_AGENT_GRACE_SECONDS, and for TLS
// AIRSPACE_AGENT_TLS_CERT_FILE, _TLS_KEY_FILE, _TLS_CA_FILE, _TLS_CLIENT_AUTH (each falling back
// to AIRSPACE_<NAME>, like the Python agents). Prints "READY <name> <port>" once serving.

const { parseArgs } = require('node:util');
const { agent } = require('./src/risk_scorer');
const { setting, tlsSettings } = require('./src/settings');

async function main() {
  const { values } = parseArgs({
    options: { host: { type: 'string' }, port: { type: 'string' } },
  });
  const { port, stop } = await agent.serve({
    host: values.host ?? setting('HOST', '127.0.0.1'),
    port: Number(values.port ?? setting('PORT', '0')),
    otlpEndpoint: setting('OTLP_ENDPOINT', ''),
    telemetryCredential: setting('TELEMETRY_CREDENTIAL', ''),
    resultCacheSize: Number(setting('RESULT_CACHE_SIZE', '1024')),
    graceSeconds: Number(setting('GRACE_SECONDS', '5')),
    tls: tlsSettings(),
  });
  console.log(`READY ${agent.name} ${port}`);
  let stopping = false;
  const shutdown = async (signal) => {
    if (stopping) return;
    stopping = true;
    console.error(`${agent.name} shutting down (${signal})`);
    await stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  followSupervisor(() => shutdown('supervisor gone'));
}

// Started by `airspace up` (AIRSPACE_SUPERVISOR_PID): end when the supervisor does, even
// when it was killed outright, so no agent outlives the mesh.
function followSupervisor(onGone) {
  const supervisor = Number(process.env.AIRSPACE_SUPERVISOR_PID ?? 0);
  if (!supervisor) return;
  setInterval(() => {
    if (process.ppid !== supervisor) onGone();
  }, 500).unref();
}

main().catch((error) => {
  console.error(`${agent.name} could not start: ${error.message}`);
  process.exit(1);
});
