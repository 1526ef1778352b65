'use strict';
// Completed results by idempotency key, so a retried attempt is answered without rework.
// A bounded LRU: a Map iterates in insertion order, so the first key is the least recent.

class IdempotencyCache {
  constructor(capacity) {
    if (!(capacity >= 1)) throw new RangeError('the idempotency cache needs a capacity of at least 1');
    this._capacity = capacity;
    this._results = new Map();
  }

  get(key) {
    const result = this._results.get(key);
    if (result === undefined) return undefined;
    this._results.delete(key);
    this._results.set(key, result);
    return result;
  }

  set(key, result) {
    this._results.delete(key);
    this._results.set(key, result);
    if (this._results.size > this._capacity) {
      this._results.delete(this._results.keys().next().value);
    }
  }
}

module.exports = { IdempotencyCache };
