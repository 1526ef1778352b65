'use strict';
// An agent is a card plus one handler function; this turns them into a gRPC server that
// implements airspace.agent.v1.AgentService, with the standard gRPC health service.

const grpc = require('@grpc/grpc-js');
const { HealthImplementation } = require('grpc-health-check');
const { IdempotencyCache } = require('./cache');
const { loadAgentService } = require('./contract');
const { AgentServicer } = require('./servicer');
const { tracerProvider } = require('./telemetry');

const DEFAULT_MODES = ['text/plain', 'application/json'];
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

// Plaintext without a certificate in `tls`; TLS with one; mutual TLS when it names a CA too.
function serverCredentials(tls) {
  if (!tls?.cert) return grpc.ServerCredentials.createInsecure();
  const demandClient = Boolean(tls.ca) && tls.clientAuth !== false;
  return grpc.ServerCredentials.createSsl(tls.ca ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], demandClient);
}

class Agent {
  constructor({
    name,
    version,
    description = '',
    skills = [],
    clearances = [],
    inputModes = DEFAULT_MODES,
    outputModes = DEFAULT_MODES,
    provider = '',
    streaming = false,
    actions = false,
    handoff = false,
  }) {
    if (!name || !version) throw new Error('an agent needs a name and a version');
    this.card = {
      name,
      version,
      description,
      skills: skills.map(({ id, name: skillName, description: about = '', tags = [], examples = [] }) => ({
        id,
        name: skillName,
        description: about,
        tags,
        examples,
      })),
      input_modes: inputModes,
      output_modes: outputModes,
      clearances: clearances.map((clearance) => `DATA_CLASS_${clearance}`),
      capabilities: { streaming, actions, handoff, idempotent: true },
      provider,
      runtime: 'node',
    };
    this._handler = null;
  }

  get name() {
    return this.card.name;
  }

  // The function that performs a step: async (task) => Reply | Handoff, or throws AgentFailure.
  handler(fn) {
    this._handler = fn;
    return fn;
  }

  // Starts serving; resolves to { port, stop } once the port is bound.
  // `tls` ({ cert, key, ca, clientAuth }: PEM buffers) serves TLS, and with `ca` demands a
  // client certificate that CA signed, as the mesh's own services do (see serverCredentials).
  async serve({ host = '127.0.0.1', port = 0, otlpEndpoint = '', telemetryCredential = '', resultCacheSize = 1024, graceSeconds = 5, tls = null, log = console } = {}) {
    if (!this._handler) throw new Error(`agent ${this.name} has no handler; set one with agent.handler(fn)`);
    const { service, serviceName } = loadAgentService();
    const provider = tracerProvider(this.name, otlpEndpoint, tls, telemetryCredential);
    const servicer = new AgentServicer({
      card: this.card,
      handler: this._handler,
      cache: new IdempotencyCache(resultCacheSize),
      tracer: provider.getTracer('airspace.agent.node'),
      log,
    });
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
    server.addService(service, servicer.implementation());
    const health = new HealthImplementation({ '': 'SERVING', [serviceName]: 'SERVING' });
    health.addToServer(server);
    const bound = await new Promise((resolve, reject) =>
      server.bindAsync(`${host}:${port}`, serverCredentials(tls), (error, actual) =>
        error ? reject(error) : resolve(actual),
      ),
    );
    const stop = async () => {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(serviceName, 'NOT_SERVING');
      await new Promise((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceSeconds * 1000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await provider.shutdown(); // flushes the spans not exported yet
    };
    return { port: bound, stop };
  }
}

module.exports = { Agent };
