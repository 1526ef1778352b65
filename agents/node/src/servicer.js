'use strict';
// AgentService over gRPC: runs the handler for each Invoke and streams its events, ending
// with exactly one terminal event. Protocol errors (a bad first message, a decision for no
// pending request) become statuses; whatever the handler does becomes events.

const grpc = require('@grpc/grpc-js');
const { SpanKind, SpanStatusCode } = require('@opentelemetry/api');
const { EventWriter } = require('./events');
const { agentMessage, artifact } = require('./messages');
const { AgentFailure, Handoff, Reply } = require('./outcomes');
const { invalidArgument, rpcError } = require('./rpc_errors');
const { toStruct } = require('./struct');
const { ProtocolError, Task } = require('./task');
const { extractContext } = require('./telemetry');

const REQUIRED_START_FIELDS = ['idempotency_key', 'run_id', 'step_key'];

class AgentServicer {
  constructor({ card, handler, cache, tracer, log = console }) {
    Object.assign(this, { card, handler, cache, tracer, log });
  }

  // The method table for server.addService.
  implementation() {
    return {
      GetAgentCard: (call, callback) => callback(null, { card: this.card }),
      Invoke: (call) => new Invocation(this, call).begin(),
    };
  }

  finalEvent(reply) {
    const final = {
      message: agentMessage(this.card.name, reply.text),
      artifacts: reply.artifacts.map(artifact),
      data: toStruct(reply.data),
    };
    if (reply.confidence !== undefined) final.confidence = reply.confidence;
    return { final };
  }

  handoffEvent(handoff) {
    return {
      handoff: {
        target: handoff.target,
        reason: handoff.reason,
        message: agentMessage(this.card.name, handoff.text),
        data: toStruct(handoff.data),
      },
    };
  }
}

// One Invoke call, from its start message to its one terminal event or status.
class Invocation {
  constructor(servicer, call) {
    this.servicer = servicer;
    this.call = call;
    this.controller = new AbortController();
    this.task = null;
    this.span = null;
    this.over = false;
  }

  begin() {
    const call = this.call;
    call.on('data', (request) => {
      if (this.over) return;
      if (this.task) this.onFollowUp(request);
      else this.onStart(request);
    });
    call.on('end', () => {
      if (this.over) return;
      if (this.task) this.task.closeDecisions();
      else this.refuse('the first message of Invoke must be start', 'start');
    });
    call.on('cancelled', () => this.stop('the router cancelled the call'));
    const deadline = call.getDeadline();
    if (deadline instanceof Date) {
      // grpc-js ends the call itself; this timer stops the handler's work.
      this.timer = setTimeout(
        () =>
          this.fail(
            rpcError(grpc.status.DEADLINE_EXCEEDED, "the step's deadline passed before the agent finished"),
          ),
        Math.max(0, deadline.getTime() - Date.now()),
      );
      this.timer.unref();
    }
  }

  onStart(request) {
    if (request.kind !== 'start') {
      this.refuse('the first message of Invoke must be start', 'start');
      return;
    }
    const start = request.start;
    const missing = REQUIRED_START_FIELDS.filter((name) => !start[name]).map((name) => `start.${name}`);
    if (missing.length) {
      const verb = missing.length === 1 ? 'is' : 'are';
      this.refuse(`${missing.join(', ')} ${verb} required`, ...missing);
      return;
    }
    const { card, tracer, cache } = this.servicer;
    this.span = tracer.startSpan(
      `invoke_agent ${card.name}`,
      { kind: SpanKind.SERVER, attributes: spanAttributes(card, start) },
      extractContext(this.call.metadata),
    );
    this.events = new EventWriter(this.call);
    const cached = cache.get(start.idempotency_key);
    this.span.setAttribute('airspace.agent.replayed', cached !== undefined);
    if (cached !== undefined) {
      this.finish(cached); // a retry of a completed attempt: the same result, no rework
      return;
    }
    this.task = new Task(start, this.events, this.controller.signal);
    this.run();
  }

  async run() {
    let terminal;
    try {
      terminal = this.terminalOf(await this.servicer.handler(this.task));
    } catch (error) {
      if (this.over) return; // the deadline, the router or a protocol error ended the call
      terminal = this.errorEvent(error);
    }
    if (this.over) return;
    // Cached before sending: if the router never receives it, its retry still will.
    if (!terminal.error) this.servicer.cache.set(this.task.idempotencyKey, terminal);
    this.finish(terminal);
  }

  terminalOf(result) {
    if (result instanceof Reply) return this.servicer.finalEvent(result);
    if (result instanceof Handoff) return this.servicer.handoffEvent(result);
    throw new TypeError(`the handler returned ${typeof result}, not a Reply or a Handoff`);
  }

  errorEvent(error) {
    if (error instanceof AgentFailure) return { error: error.toProto() };
    // The stack without the message, which may quote the input.
    this.servicer.log.error(
      `${this.servicer.card.name} handler threw ${error.name}\n${(error.stack || '').split('\n').slice(1).join('\n')}`,
    );
    const failure = new AgentFailure('INTERNAL', `the agent failed unexpectedly (${error.name})`);
    return { error: failure.toProto() };
  }

  onFollowUp(request) {
    try {
      if (request.kind !== 'action_decision') {
        throw new ProtocolError('only action decisions may follow the start message', 'start');
      }
      this.task.deliver(request.action_decision);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.refuse(error.message, error.field);
    }
  }

  finish(terminal) {
    this.end();
    recordOutcome(this.span, terminal);
    this.span.end();
    try {
      this.events.send(terminal, { terminal: true });
    } catch (error) {
      this.servicer.log.error(`${this.servicer.card.name}: the result could not be sent (${error.message})`);
    }
  }

  refuse(message, ...fields) {
    this.fail(invalidArgument(message, fields.map((field) => [field, message])));
  }

  fail(status) {
    if (this.over) return;
    this.stop(status.details, grpc.status[status.code]);
    if (!this.call.cancelled && !this.call.destroyed) this.call.emit('error', status);
  }

  // Ends the attempt early: the handler's signal aborts and pending action requests fail.
  stop(reason, errorType = 'CANCELLED') {
    if (this.over) return;
    this.end();
    this.controller.abort(new Error(reason));
    if (this.task) this.task.abandon(new Error(reason));
    if (this.span) {
      this.span.setAttribute('error.type', errorType);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
      this.span.end();
    }
  }

  end() {
    this.over = true;
    clearTimeout(this.timer);
  }
}

function spanAttributes(card, start) {
  return {
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': card.name,
    'gen_ai.agent.version': card.version,
    'airspace.run.id': start.run_id,
    'airspace.step.key': start.step_key,
    'airspace.attempt': start.attempt,
  };
}

function recordOutcome(span, terminal) {
  const kind = Object.keys(terminal).find((key) => key !== 'sequence');
  span.setAttribute('airspace.agent.outcome', kind);
  if (kind === 'final' && terminal.final.confidence !== undefined) {
    span.setAttribute('airspace.agent.confidence', terminal.final.confidence);
  } else if (kind === 'handoff') {
    span.setAttribute('airspace.handoff.target', terminal.handoff.target);
  } else if (kind === 'error') {
    span.setAttribute('error.type', terminal.error.kind);
    span.setStatus({ code: SpanStatusCode.ERROR, message: terminal.error.kind });
  }
}

module.exports = { AgentServicer };
