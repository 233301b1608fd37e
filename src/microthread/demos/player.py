"""The Player race of the slides 线程安全 - 示例: where may a switch happen?

``login`` publishes a player, then asks the database for its data.  The
query switches to another microthread, which can find the player in
``players`` before it is initialised.  ``login_async`` has the same window
between the call and its callback; what differs is where you can see it:
in event-driven code the only switch points are the gaps between callbacks.
``login_safe`` and ``login_async_safe`` show the fix: finish the object,
then publish it.  ``python -m microthread.demos.player`` shows both.
"""

from .database import async_execute_sql, execute_sql

__all__ = ["Player", "login", "login_async", "login_safe",
           "login_async_safe", "PLAYER_SQL"]

PLAYER_SQL = "SELECT name, level FROM players WHERE id = ?"


class Player:
    """A player whose data arrives from the database after it is made."""

    def __init__(self, player_id=None):
        self.id = player_id
        self.name = None          # None until init(): a half-made player
        self.level = None

    def init(self, value):
        self.name, self.level = value

    @property
    def ready(self):
        return self.name is not None

    def __repr__(self):
        return f"<Player {self.id} {self.name!r} level {self.level}>"


def login(players, new_id, db):
    """微线程版：execute_sql 会切换，别人可能看到半成品 player。"""
    player = players[new_id] = Player(new_id)
    value = execute_sql(db, PLAYER_SQL, (new_id,))     # 切换点
    player.init(value)
    return player


def login_async(players, new_id, db):
    """事件驱动版：async_execute_sql 不切换，回调之间才会切换。"""
    def on_success(value):
        player.init(value)
    player = players[new_id] = Player(new_id)
    async_execute_sql(db, PLAYER_SQL, (new_id,), on_success)
    return player


def login_safe(players, new_id, db):
    """修正（微线程）：先把 player 做完整，再放进 players。"""
    player = Player(new_id)
    value = execute_sql(db, PLAYER_SQL, (new_id,))     # 切换点
    player.init(value)
    players[new_id] = player             # 发布时已经完整
    return player


def login_async_safe(players, new_id, db):
    """修正（事件驱动）：在回调里初始化完，再放进 players。"""
    def on_success(value):
        player = Player(new_id)
        player.init(value)
        players[new_id] = player         # 发布时已经完整
    async_execute_sql(db, PLAYER_SQL, (new_id,), on_success)


def seen_by_another(login_fn):
    """Run login_fn on a real SQLite file while another microthread looks
    the player up; what it saw (a repr), as it was when it looked."""
    import os
    import tempfile
    from ..hub import sleep, spawn
    from .database import create_players_db
    with tempfile.TemporaryDirectory() as folder:
        db = create_players_db(os.path.join(folder, "players.sqlite"),
                               [(1, "alice", 7)])
        players, seen = {}, []
        login = spawn(login_fn, players, 1, db)
        spawn(lambda: seen.append(repr(players.get(1))))
        login.join()
        sleep(0)
    return seen[0]


def _show():
    """What the slides claim."""
    for login_fn in (login, login_safe):
        print(f"{login_fn.__name__:10} 别的微线程看到: "
              f"{seen_by_another(login_fn)}")


if __name__ == "__main__":
    _show()
