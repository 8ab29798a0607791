"""Run the one-process server: uvicorn (HTTP + WebSocket) with worker and scheduler threads."""

from __future__ import annotations

import gc
import threading
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from frontdesk.channels.email.pollers import MailboxPollers
from frontdesk.channels.email.smtpd import SmtpReceiver, add_receiver_arguments, receivers_from_options
from frontdesk.desk.worker.runner import WorkerThread


class Command(BaseCommand):
    help = "Serve Frontdesk in one process: web, WebSocket, background worker and scheduler."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--worker-threads",
            type=int,
            default=settings.FRONTDESK_WORKER_THREADS,
            help="Background worker threads in this process (0: none; run `frontdesk worker` elsewhere).",
        )
        parser.add_argument(
            "--no-scheduler", action="store_true", help="Do not take part in scheduler election."
        )
        add_receiver_arguments(parser)
        parser.add_argument(
            "--no-imap",
            action="store_true",
            help="Do not fetch mailboxes here (they are fetched where worker threads run).",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        worker_threads: int,
        no_scheduler: bool,
        no_imap: bool,
        **options: Any,
    ) -> None:
        stop = threading.Event()
        # The receivers bind first: a taken port stops the start-up with a clear error.
        receivers: list[SmtpReceiver] = receivers_from_options(options)
        for receiver in receivers:
            receiver.start()
            self.stdout.write(f"Receiving mail over {receiver.protocol} on {receiver.host}:{receiver.port}")
        threads: list[threading.Thread] = [
            WorkerThread(stop=stop, scheduler=(i == 0 and not no_scheduler), name=f"worker{i}")
            for i in range(worker_threads)
        ]
        # Mailboxes are fetched where the background work runs (one process per mailbox at a time).
        if worker_threads > 0 and not no_imap:
            threads.append(MailboxPollers(stop))
        for thread in threads:
            thread.start()
        self.stdout.write(f"Frontdesk is serving on http://{host}:{port}/ (Ctrl+C stops it)")
        config = uvicorn.Config(
            "frontdesk.asgi:application",
            host=host,
            port=port,
            lifespan="off",
            # The sans-I/O implementation (the older one is deprecated). Protocol pings every 20 s
            # keep proxies from closing idle sockets and notice vanished clients; agent pages send
            # small JSON frames, so a large inbound frame is refused rather than buffered.
            ws="websockets-sansio",
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            ws_max_size=1024 * 1024,
            log_config=None,
            access_log=False,
            proxy_headers=settings.FRONTDESK_HTTPS,
            limit_max_requests=None,
        )
        # Everything loaded so far (Django, the app, the adapters) lives as long as the process: keep
        # it out of the garbage collector's full passes, which otherwise pause the loop for tens
        # of milliseconds under load (seen as chat latency spikes in bench/chat_load.py).
        gc.collect()
        gc.freeze()
        try:
            uvicorn.Server(config).run()
        finally:
            from frontdesk.asgi import webhook_receiver

            # uvicorn has answered every request it took; the receiver has nothing left to store.
            webhook_receiver.stop()
            stop.set()
            for receiver in receivers:
                receiver.stop()
            for thread in threads:
                thread.join(timeout=10)
