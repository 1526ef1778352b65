"""A child of `airspace up` ends when its supervisor does, even one killed with SIGKILL.

The supervisor names itself in AIRSPACE_SUPERVISOR_PID; the child asks Linux to send it
SIGTERM when its parent goes (PR_SET_PDEATHSIG) and checks the parent did not go first.
This runs in the child after exec: a fork that runs Python code before exec in a process
with gRPC threads can crash the child.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

ENV = "AIRSPACE_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1


def hold() -> None:
    supervisor = os.environ.get(ENV)
    if not supervisor or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(supervisor):  # the supervisor ended before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
