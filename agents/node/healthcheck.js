#!/usr/bin/env node
'use strict';
// Container health check: `node healthcheck.js [HOST:PORT]` exits 0 when the agent's
// grpc.health.v1 service answers SERVING, 1 otherwise. Without an address it checks
// 127.0.0.1 on AIRSPACE_AGENT_PORT / AIRSPACE_PORT (50051), like the Python check, over
// TLS with the agent's own certificate when its settings name one.

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { protoPath } = require('grpc-health-check');
const { setting, tlsSettings } = require('./src/settings');

const address = process.argv[2] ?? `127.0.0.1:${setting('PORT', '50051')}`;
const tls = tlsSettings();
const definition = protoLoader.loadSync(protoPath, { enums: String });
const { v1 } = grpc.loadPackageDefinition(definition).grpc.health;
const credentials = tls?.ca ? grpc.credentials.createSsl(tls.ca, tls.key, tls.cert) : grpc.credentials.createInsecure();
const client = new v1.Health(address, credentials);

client.check({ service: '' }, { deadline: Date.now() + 3000 }, (error, reply) => {
  const status = error ? `${grpc.status[error.code]}: ${error.details}` : reply.status;
  console.log(`${address} (server): ${status}`);
  client.close();
  process.exit(status === 'SERVING' ? 0 : 1);
});
