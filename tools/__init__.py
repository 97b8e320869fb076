"""The reference support desk: schema, deterministic seed data and its LangChain tools."""

from __future__ import annotations

import sqlite3

from proctor import toolkit
from proctor.db import Database
from proctor.tools import schema
from proctor.tools.account import ACCOUNT_TOOLS
from proctor.tools.billing import BILLING_TOOLS
from proctor.tools.orders import ORDERS_TOOLS
from proctor.tools.seed import seed_desk
from proctor.tools.support import SUPPORT_TOOLS

MIGRATIONS = [*toolkit.MIGRATIONS, *schema.MIGRATIONS]
# Reads come first within each module: a model scanning the list looks before it acts.
TOOLS = [
    spec
    for module in (BILLING_TOOLS, ORDERS_TOOLS, ACCOUNT_TOOLS, SUPPORT_TOOLS)
    for spec in sorted(module, key=lambda s: s.effect == "write")
]


# Grounded answers cite KB articles like [KB-012]; proctor checks them against the article text.
CITATION = r"\[(KB-\d{3})\]"


def source_text(conn: sqlite3.Connection, article_id: str) -> str | None:
    row = conn.execute("SELECT title, body FROM kb_articles WHERE id = ?", (article_id,)).fetchone()
    return f"{row['title']}\n{row['body']}" if row else None


def prepare_desk(db: Database, seed: int = 7) -> None:
    """Migrate the store (tool effects, audit log, desk tables) and seed it if it is empty."""
    db.migrate(MIGRATIONS)
    seed_desk(db, seed)


prepare = prepare_desk  # the hook proctor.deployment calls on every tool module

__all__ = ["CITATION", "MIGRATIONS", "TOOLS", "prepare", "prepare_desk", "seed_desk", "source_text"]
