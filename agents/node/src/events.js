'use strict';
// Numbers events from 1 and writes them in order; nothing may follow the terminal event.

class StreamClosed extends Error {}

class EventWriter {
  constructor(call) {
    this._call = call;
    this._sequence = 0;
    this._ended = false;
  }

  get ended() {
    return this._ended;
  }

  send(event, { terminal = false } = {}) {
    if (this._ended) throw new Error('the step has already ended; no more events may be sent');
    if (this._call.cancelled || this._call.destroyed) {
      throw new StreamClosed('the router is gone: the call was cancelled or its deadline passed');
    }
    this._sequence += 1;
    this._call.write({ ...event, sequence: this._sequence });
    if (terminal) {
      this._ended = true;
      this._call.end();
    }
  }
}

module.exports = { EventWriter, StreamClosed };
