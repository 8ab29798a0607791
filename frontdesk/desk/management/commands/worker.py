"""Run background workers in their own process (scaled-out mode)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from frontdesk.desk.worker.runner import WorkerThread, run_ready_tasks


class Command(BaseCommand):
    help = "Run background tasks (deliveries, processing, the scheduler) until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--threads", type=int, default=1)
        parser.add_argument(
            "--interval", type=float, default=0.5, help="Seconds to wait when no task is due."
        )
        parser.add_argument(
            "--no-scheduler", action="store_true", help="Do not take part in scheduler election."
        )
        parser.add_argument("--batch", action="store_true", help="Run the tasks due now, then exit.")

    def handle(
        self, *args: Any, threads: int, interval: float, no_scheduler: bool, batch: bool, **options: Any
    ) -> None:
        if batch:
            count = run_ready_tasks()
            self.stdout.write(f"Ran {count} task(s).")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        workers = [
            WorkerThread(
                stop=stop, interval=interval, scheduler=(i == 0 and not no_scheduler), name=f"worker{i}"
            )
            for i in range(max(threads, 1))
        ]
        for worker in workers:
            worker.start()
        self.stdout.write(f"Frontdesk worker running {len(workers)} thread(s); Ctrl+C stops it.")
        while not stop.wait(1.0):
            pass
        for worker in workers:
            worker.join(timeout=30)
