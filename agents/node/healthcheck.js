#!/usr/bin/env node
'use strict';
// Container health check: `node healthcheck.js [HOST:PORT]` exits 0 when the agent's
// grpc.health.v1 service answers SERVING, 1 otherwise. Without an address it checks
// 127.0.0.1 on AIRSPACE_AGENT_PORT / AIRSPACE_PORT (50051), like the Python check.

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { protoPath } = require('grpc-health-check');

const port = process.env.AIRSPACE_AGENT_PORT ?? process.env.AIRSPACE_PORT ?? '50051';
const address = process.argv[2] ?? `127.0.0.1:${port}`;
const definition = protoLoader.loadSync(protoPath, { enums: String });
const { v1 } = grpc.loadPackageDefinition(definition).grpc.health;
const client = new v1.Health(address, grpc.credentials.createInsecure());

client.check({ service: '' }, { deadline: Date.now() + 3000 }, (error, reply) => {
  const status = error ? `${grpc.status[error.code]}: ${error.details}` : reply.status;
  console.log(`${address} (server): ${status}`);
  client.close();
  process.exit(status === 'SERVING' ? 0 : 1);
});
