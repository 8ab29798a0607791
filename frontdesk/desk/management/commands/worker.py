"""Run background workers in their own process (scaled-out mode)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from frontdesk.channels.email.pollers import MailboxPollers
from frontdesk.channels.email.smtpd import add_receiver_arguments, receivers_from_options
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
        parser.add_argument("--no-imap", action="store_true", help="Do not fetch mailboxes in this process.")
        add_receiver_arguments(parser)

    def handle(
        self,
        *args: Any,
        threads: int,
        interval: float,
        no_scheduler: bool,
        batch: bool,
        no_imap: bool,
        **options: Any,
    ) -> None:
        if batch:
            count = run_ready_tasks()
            self.stdout.write(f"Ran {count} task(s).")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        receivers = receivers_from_options(options)
        for receiver in receivers:
            receiver.start()
            self.stdout.write(f"Receiving mail over {receiver.protocol} on {receiver.host}:{receiver.port}")
        workers: list[threading.Thread] = [
            WorkerThread(
                stop=stop, interval=interval, scheduler=(i == 0 and not no_scheduler), name=f"worker{i}"
            )
            for i in range(max(threads, 1))
        ]
        if not no_imap:
            workers.append(MailboxPollers(stop))
        for worker in workers:
            worker.start()
        self.stdout.write(f"Frontdesk worker running {len(workers)} thread(s); Ctrl+C stops it.")
        while not stop.wait(1.0):
            pass
        for receiver in receivers:
            receiver.stop()
        for worker in workers:
            worker.join(timeout=30)
