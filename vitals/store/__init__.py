"""The store: the only place in Chairside that speaks SQL.

One ``StoreWriter`` owns the single write connection; everything else reads through
read-only connections and the query functions, which return pandas DataFrames.
"""

from vitals.store.connection import DEFAULT_DB, connect_readonly, copy_store
from vitals.store.writer import StoreWriter

__all__ = ["DEFAULT_DB", "StoreWriter", "connect_readonly", "copy_store"]
