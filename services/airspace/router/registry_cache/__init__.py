"""The router's cache of workflows and agent registrations, kept current by the state
service's registry watch (StateService/WatchRegistry)."""
