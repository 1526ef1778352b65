'use strict';
// Protocol errors as gRPC statuses with google.rpc details (ErrorInfo, BadRequest), the
// way every Airspace service reports them, so callers can name the field at fault.

const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');

const ERROR_DOMAIN = 'airspace.dev';
const DETAILS_KEY = 'grpc-status-details-bin';

// The few standard google.rpc messages needed here, described inline.
const RPC = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
          },
        },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
              },
            },
            ErrorInfo: {
              fields: {
                reason: { type: 'string', id: 1 },
                domain: { type: 'string', id: 2 },
                metadata: { keyType: 'string', type: 'string', id: 3 },
              },
            },
            BadRequest: {
              fields: { field_violations: { rule: 'repeated', type: 'FieldViolation', id: 1 } },
              nested: {
                FieldViolation: {
                  fields: { field: { type: 'string', id: 1 }, description: { type: 'string', id: 2 } },
                },
              },
            },
          },
        },
      },
    },
  },
});

function packed(typeName, value) {
  const type = RPC.lookupType(typeName);
  return { type_url: `type.googleapis.com/${typeName}`, value: type.encode(type.create(value)).finish() };
}

// An error to emit on a call: `call.emit('error', rpcError(...))` ends it with this status.
function rpcError(code, message, { reason, violations = [] } = {}) {
  const details = [
    packed('google.rpc.ErrorInfo', {
      reason: reason || grpc.status[code],
      domain: ERROR_DOMAIN,
      metadata: {},
    }),
  ];
  if (violations.length) {
    details.push(
      packed('google.rpc.BadRequest', {
        field_violations: violations.map(([field, description]) => ({ field, description })),
      }),
    );
  }
  const Status = RPC.lookupType('google.rpc.Status');
  const metadata = new grpc.Metadata();
  metadata.set(
    DETAILS_KEY,
    Buffer.from(Status.encode(Status.create({ code, message, details })).finish()),
  );
  return { code, details: message, metadata };
}

function invalidArgument(message, violations) {
  return rpcError(grpc.status.INVALID_ARGUMENT, message, { violations });
}

module.exports = { invalidArgument, rpcError };
