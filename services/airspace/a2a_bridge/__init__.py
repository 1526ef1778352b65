"""The A2A bridge: serves one Airspace workflow as an A2A agent over A2A's gRPC binding.

An A2A client sends a message; the bridge starts a run of the workflow through the gateway
with the client's own credentials (its `authorization` metadata: an Airspace API key or
JWT), streams the run's progress as A2A task status updates, and ends the task with the
run's output as an artifact. Cancelling the A2A task cancels the run.

    python -m airspace.a2a_bridge.main     # settings: AIRSPACE_A2A_* (see settings.py)
"""
