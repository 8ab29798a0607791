"""Django's SQLite backend, with the writing threads of one process queued on a lock.

Every transaction begins IMMEDIATE (settings.py): it takes SQLite's write lock at BEGIN, and a
second writer waits in SQLite's busy handler. That handler sleeps between tries (1, 2, 5, 10, …
100 ms) and is not woken when the lock is freed, so with many threads writing short transactions —
the webhook receiver beside the worker thread, chat messages from hundreds of visitors — a
waiter sleeps through the gaps between other transactions and loses its turn again and again:
webhooks stored in a few milliseconds had a p99 of 0.5-1 s beside the worker thread, 87 ms with
this (docs/performance.md). Here the threads
of one process queue on a lock first, and the next one begins the moment the previous one
commits or rolls back. SQLite's own lock still rules between processes (a `frontdesk worker`
beside the server) and for single statements outside a transaction, which take it only briefly.

The lock is held exactly as long as SQLite's write lock would be (BEGIN IMMEDIATE to COMMIT or
ROLLBACK), so it makes nobody wait who would not have waited anyway; it only wakes them sooner.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db.backends.sqlite3 import base

# django-stubs leaves out the private methods overridden here.
_SQLiteWrapper: Any = base.DatabaseWrapper

_turns: dict[str, threading.Lock] = {}
_turns_guard = threading.Lock()


def write_turn(name: str) -> threading.Lock:
    """The lock the transactions of this process on database file `name` queue on."""
    with _turns_guard:
        return _turns.setdefault(name, threading.Lock())


class DatabaseWrapper(_SQLiteWrapper):
    # The turn this connection holds, from BEGIN to COMMIT, ROLLBACK or close (kept, not looked up
    # again: the test runner renames the database while connections are open).
    _turn: threading.Lock | None = None

    def _start_transaction_under_autocommit(self) -> None:
        if self.transaction_mode not in ("IMMEDIATE", "EXCLUSIVE"):
            # A deferred BEGIN takes no lock: queueing it would make readers wait.
            super()._start_transaction_under_autocommit()
            return
        # Waits as long as SQLite would (its busy timeout); after that, BEGIN meets SQLite's own
        # lock and its busy handler decides, as without this queue.
        waited = float(self.settings_dict["OPTIONS"].get("timeout", 5))
        turn = write_turn(str(self.settings_dict["NAME"]))
        if turn.acquire(timeout=waited):
            self._turn = turn
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._give_up_turn()
            raise

    def _commit(self) -> Any:
        try:
            return super()._commit()
        finally:
            # A COMMIT that failed leaves the transaction open until Django rolls it back (or closes
            # the connection); SQLite's own lock covers that moment.
            self._give_up_turn()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()
        finally:
            self._give_up_turn()

    def _close(self) -> Any:
        try:
            return super()._close()
        finally:
            self._give_up_turn()

    def _give_up_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.release()
