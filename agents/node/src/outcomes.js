'use strict';
// What a handler returns or throws: the three ways a step attempt ends.

const ERROR_KINDS = ['INVALID_INPUT', 'DEPENDENCY', 'REJECTED', 'PENDING_APPROVAL', 'INTERNAL'];

// The step's result; becomes a FinalOutput.
class Reply {
  constructor({ text = '', data = {}, confidence, artifacts = [] } = {}) {
    if (confidence !== undefined && !(confidence >= 0 && confidence <= 1)) {
      throw new RangeError('confidence must be between 0 and 1');
    }
    Object.assign(this, { text, data, confidence, artifacts });
  }
}

// A request to hand the task to another agent; becomes a HandoffRequest. The router checks
// the target against the workflow's handoff graph.
class Handoff {
  constructor({ target, reason, text = '', data = {} }) {
    if (!target) throw new Error('a handoff needs a target agent');
    if (!reason) throw new Error('a handoff needs a reason');
    Object.assign(this, { target, reason, text, data });
  }
}

// Thrown by a handler that cannot do its step; becomes an AgentError. The message reaches
// operators, so it must not quote the input.
class AgentFailure extends Error {
  constructor(kind, message, { retryable = false } = {}) {
    super(message);
    if (!ERROR_KINDS.includes(kind)) {
      throw new Error(`unknown failure kind ${kind}; use one of ${ERROR_KINDS.join(', ')}`);
    }
    this.kind = kind;
    this.retryable = retryable;
  }

  toProto() {
    return { kind: `AGENT_ERROR_KIND_${this.kind}`, message: this.message, retryable: this.retryable };
  }
}

module.exports = { AgentFailure, Handoff, Reply };
