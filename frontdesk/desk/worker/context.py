"""The id of the worker running the current thread (for claims and attempt logs)."""

from __future__ import annotations

import os
import socket
import threading

_local = threading.local()


def set_current_worker_id(worker_id: str) -> None:
    _local.worker_id = worker_id


def current_worker_id() -> str:
    return getattr(_local, "worker_id", None) or f"{socket.gethostname()[:40]}:{os.getpid()}:inline"
