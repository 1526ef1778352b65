'use strict';
// The agent contract, loaded at start-up from the project's protos/ folder: no copied
// .proto file and no generated code, so the agent always speaks the current contract.

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const DEFAULT_PROTOS = path.resolve(__dirname, '..', '..', '..', 'protos');
const AGENT_PROTO = 'airspace/agent/v1/agent.proto';
const SERVICE = 'airspace.agent.v1.AgentService';

// keepCase: field names as in the .proto (snake_case); oneofs: each decoded message names
// its set oneof member (e.g. request.kind === 'start'); enums travel as their names.
const LOADER_OPTIONS = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

function loadAgentService(protosDir = process.env.AIRSPACE_PROTOS || DEFAULT_PROTOS) {
  const definition = protoLoader.loadSync(AGENT_PROTO, {
    ...LOADER_OPTIONS,
    includeDirs: [protosDir],
  });
  return {
    serviceName: SERVICE,
    service: grpc.loadPackageDefinition(definition).airspace.agent.v1.AgentService.service,
  };
}

module.exports = { loadAgentService, SERVICE };
