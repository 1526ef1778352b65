"""Policy decided in the router: the policy service's bundle, kept in sync over a stream
and evaluated in-process, with every decision's audit record made durable (in batches
shared by every run) before the decision takes effect."""
