"""The database seam: units of work are plain functions of a SQLAlchemy Connection.

`read(fn)` and `write(fn)` run `fn(conn)` and return its result. On SQLite all writes go to one writer
thread that group-commits a batch of units per transaction (each unit inside its own SAVEPOINT, so one
failing unit never half-applies nor spoils its neighbours); on PostgreSQL each unit is its own transaction.
Either way the unit is committed before `write` returns: that is what "durable before the 200" means.
"""

from parley.platform.db.counter import SqliteCounter
from parley.platform.db.database import Database, UnitOfWork, create_database, sqlite_file_of

__all__ = ["Database", "SqliteCounter", "UnitOfWork", "create_database", "sqlite_file_of"]
