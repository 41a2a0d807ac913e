"""The store's tables: one schema for SQLite and PostgreSQL, versioned.

Times are seconds since the epoch (double precision), so SQLite and PostgreSQL compare
and index them alike. ``SCHEMA_VERSION`` is written in ``smmpanel_schema``; a store made
by a newer smmpanel is refused, an older one is brought up to date by the store's
migrations (run in one transaction with the version bump).

Version 2 keeps an order's latest status as one ``state`` text (``_codec``) instead of
seven columns: a poll then writes and compares one value, and an event reuses it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["SCHEMA_VERSION", "counters", "events", "metadata", "orders", "panels"]

SCHEMA_VERSION = 2

# SQLite makes an INTEGER PRIMARY KEY the rowid (fast, increasing); PostgreSQL a BIGINT.
RowId = BigInteger().with_variant(Integer(), "sqlite")
Time = Float(53)

metadata = MetaData()

schema = Table("smmpanel_schema", metadata, Column("version", Integer, nullable=False))

orders = Table(
    "smmpanel_orders",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("panel", String(200), nullable=False),
    Column("order_id", BigInteger, nullable=True),  # NULL: an add whose answer is unknown
    Column("ref", Text),
    # The latest status (NULL until the first answer): its word, and all of it as _codec's
    # state text.
    Column("status", String(32)),
    Column("state", Text),
    Column("tracked_at", Time, nullable=False),
    Column("polled_at", Time),
    Column("next_poll_at", Time),  # the due queue; NULL: never again (final, not found)
    Column("wait", Time),  # the cadence's current interval
    Column("not_found", Boolean, nullable=False, default=False),
    Column("uncertain", Boolean, nullable=False, default=False),
    Column("fields", Text),  # JSON of the add fields sent by place(), never the key
    UniqueConstraint("panel", "order_id", name="smmpanel_orders_panel_order"),
    Index("smmpanel_orders_due", "panel", "next_poll_at", "id"),
    Index("smmpanel_orders_uncertain", "uncertain"),
)

events = Table(
    "smmpanel_events",
    metadata,
    # Given from the counter under its row lock, never by a sequence: ids follow commits.
    # (On SQLite the rowid itself: one b-tree per insert, not two.)
    Column("id", RowId, primary_key=True, autoincrement=False),
    Column("panel", String(200), nullable=False),
    Column("order_id", BigInteger, nullable=False),
    Column("ref", Text),
    Column("at", Time, nullable=False),
    Column("previous", Text),
    Column("current", Text, nullable=False),
)

counters = Table(
    "smmpanel_counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

panels = Table(
    "smmpanel_panels",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("owner", Text),  # who polls it: "host:pid:token"
    Column("lease_until", Time),
    Column("beat_at", Time),
    Column("paused", Text),  # why it is paused (an AuthenticationError's text)
    Column("backoff_until", Time),
    Column("last_error", Text),
    Column("budget", Float(53)),  # status requests a minute allowed (NULL: no limit)
    Column("used", Float(53)),  # status requests sent in the last minute
)
