'use strict';
// Messages, parts and artifacts of the agent contract, as plain objects.

const { randomUUID } = require('node:crypto');
const { fromStruct, toStruct } = require('./struct');

function newId() {
  return randomUUID().replaceAll('-', '');
}

function timestampNow() {
  const millis = Date.now();
  return { seconds: Math.floor(millis / 1000), nanos: (millis % 1000) * 1e6 };
}

function textOf(message) {
  return ((message && message.parts) || [])
    .filter((part) => part.content === 'text')
    .map((part) => part.text)
    .join('\n');
}

// The message's data parts merged in order; a later part wins on a shared key.
function dataOf(message) {
  const merged = {};
  for (const part of (message && message.parts) || []) {
    if (part.content === 'data') Object.assign(merged, fromStruct(part.data));
  }
  return merged;
}

function agentMessage(author, text) {
  return {
    message_id: newId(),
    role: 'ROLE_AGENT',
    author,
    parts: text ? [{ text, media_type: 'text/plain' }] : [],
    create_time: timestampNow(),
  };
}

function artifact({ name, text, data, uri, mediaType }) {
  let part;
  if (text !== undefined) part = { text, media_type: mediaType || 'text/plain' };
  else if (data !== undefined) part = { data: toStruct(data), media_type: mediaType || 'application/json' };
  else part = { file: { name, media_type: mediaType || '', uri }, media_type: mediaType || '' };
  return { artifact_id: newId(), name, parts: [part] };
}

module.exports = { agentMessage, artifact, dataOf, newId, textOf };
