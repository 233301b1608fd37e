"""SQLite behind the two styles the slides compare on 线程安全.

``execute_sql`` is the blocking-style call: it runs the query in an OS
thread and *switches* the calling microthread out until the answer comes.
``async_execute_sql`` is the event-driven call: it returns at once and the
answer arrives later in a callback.  Both use a real SQLite file; SQLite's
own calls block, which is why they go to the thread pool.
"""

import sqlite3

from ..offload import call_in_thread, run_in_thread

__all__ = ["create_players_db", "execute_sql", "async_execute_sql"]


def create_players_db(path, rows):
    """Write a players table with rows of (id, name, level) to path."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS players"
                   " (id INTEGER PRIMARY KEY, name TEXT, level INTEGER)")
        db.executemany("INSERT OR REPLACE INTO players VALUES (?, ?, ?)",
                       rows)
    return path


def query_one(path, sql, params):
    """Run one query on its own connection (it runs in a pool thread)."""
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, params).fetchone()
    finally:
        db.close()


def execute_sql(path, sql, params=()):
    """Blocking style: this microthread switches out until the row comes."""
    return run_in_thread(query_one, path, sql, params)


def async_execute_sql(path, sql, params, on_success):
    """Event-driven style: returns at once; on_success(row) comes later."""
    call_in_thread(query_one, (path, sql, params), on_success)
