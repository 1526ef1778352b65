'use strict';
// The task a handler receives: the step's input as plain values, and the ways to report back.

const { dataOf, textOf } = require('./messages');
const { AgentFailure } = require('./outcomes');
const { fromStruct, toStruct } = require('./struct');

// A decision of the mesh on an action request, as the handler sees it.
function decisionOf(proto, requestedArguments = {}) {
  return {
    actionId: proto.action_id,
    verdict: proto.verdict.replace('ACTION_VERDICT_', ''), // ALLOWED, DENIED or PENDING_APPROVAL
    reason: proto.reason,
    approvalId: proto.approval_id,
    // An approver may have edited the arguments; act with these.
    arguments: proto.arguments ? fromStruct(proto.arguments) : requestedArguments,
  };
}

class ProtocolError extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
}

class Task {
  constructor(start, events, signal) {
    this.start = start; // the raw InvokeStart, for anything not exposed below
    this.text = textOf(start.input);
    this.data = dataOf(start.input);
    this.context = (start.context || []).map((message) => ({
      role: message.role.replace('ROLE_', ''),
      author: message.author,
      text: textOf(message),
      data: dataOf(message),
    }));
    this.parameters = fromStruct(start.parameters);
    this.runId = start.run_id;
    this.stepKey = start.step_key;
    this.stepName = start.step_name;
    this.attempt = start.attempt;
    this.idempotencyKey = start.idempotency_key;
    this.tenant = start.tenant;
    this.hopCount = start.hop_count;
    this.allowedHandoffs = [...start.allowed_handoffs];
    this.allowedActions = [...start.allowed_actions];
    this.priorDecisions = (start.prior_action_decisions || []).map((d) => decisionOf(d));
    // Aborted when the deadline passes or the router cancels: stop working then.
    this.signal = signal;
    this._events = events;
    this._requested = 0;
    this._pending = new Map();
    this._decisionsClosed = false;
  }

  // The data parts of all context messages merged, later messages winning.
  get contextData() {
    return Object.assign({}, ...this.context.map((message) => message.data));
  }

  progress(message, fraction) {
    if (fraction !== undefined && !(fraction >= 0 && fraction <= 1)) {
      throw new RangeError('progress fraction must be between 0 and 1');
    }
    this._events.send({
      progress: { message, fraction: fraction || 0, state: 'TASK_STATE_WORKING' },
    });
  }

  partial(text) {
    this._events.send({ partial: { part: { text, media_type: 'text/plain' } } });
  }

  // Resources used so far in this attempt; values are cumulative.
  reportUsage({ inputTokens = 0, outputTokens = 0, costMicros = 0, model = '' } = {}) {
    this._events.send({
      usage: { input_tokens: inputTokens, output_tokens: outputTokens, cost_micros: costMicros, model },
    });
  }

  // Asks the mesh before acting and waits for its decision (ALLOWED or DENIED). Action ids
  // are numbered in request order, so a re-invoked attempt finds the decisions made
  // meanwhile (e.g. by an approver) in prior_action_decisions without asking again. When a
  // human must decide, this throws AgentFailure PENDING_APPROVAL, ending the attempt.
  async requestAction(name, args = {}, reason = '') {
    this._requested += 1;
    const actionId = `${name}#${this._requested}`;
    const prior = this.priorDecisions.find((d) => d.actionId === actionId);
    if (prior && (prior.verdict === 'ALLOWED' || prior.verdict === 'DENIED')) {
      return { ...prior, arguments: Object.keys(prior.arguments).length ? prior.arguments : args };
    }
    if (this._decisionsClosed) throw closedFailure(actionId);
    const decided = new Promise((resolve, reject) => this._pending.set(actionId, { resolve, reject }));
    this._events.send({
      action_request: { action_id: actionId, name, arguments: toStruct(args), reason },
    });
    let decision;
    try {
      decision = decisionOf(await decided, args);
    } finally {
      this._pending.delete(actionId);
    }
    if (decision.verdict === 'PENDING_APPROVAL') {
      throw new AgentFailure('PENDING_APPROVAL', `action ${name} is waiting for approval`, {
        retryable: true,
      });
    }
    return decision;
  }

  // Hands an ActionDecision from the request stream to the request waiting for it.
  deliver(decision) {
    const pending = this._pending.get(decision.action_id);
    if (!pending) {
      throw new ProtocolError(
        `no pending action request ${JSON.stringify(decision.action_id)}`,
        'action_decision.action_id',
      );
    }
    if (decision.verdict === 'ACTION_VERDICT_UNSPECIFIED') {
      throw new ProtocolError('an action decision needs a verdict', 'action_decision.verdict');
    }
    pending.resolve(decision);
  }

  // The router closed its side of the stream: no decision can arrive any more.
  closeDecisions() {
    this._decisionsClosed = true;
    for (const [actionId, pending] of this._pending) pending.reject(closedFailure(actionId));
  }

  // The attempt is over (deadline, cancellation): wake up whatever still waits.
  abandon(reason) {
    for (const pending of this._pending.values()) pending.reject(reason);
  }
}

function closedFailure(actionId) {
  return new AgentFailure(
    'DEPENDENCY',
    `the router closed the stream before deciding action ${actionId}`,
    { retryable: true },
  );
}

module.exports = { ProtocolError, Task };
