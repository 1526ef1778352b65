"""The trace collector: OTLP/gRPC in, run and trace queries out, optional forwarding."""
