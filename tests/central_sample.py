"""The committed sample recorded into a PostgreSQL database, for the central review's tests.

The sample is written through the store's own functions (``simulators.sample_clinic``), as a
recorder and the nurses' actions would write it, once per test session: the read-side tests
and the page tests read it beside the committed SQLite file, which the same code wrote.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.sample_clinic import record_sample
from tests.pg_cluster import Cluster
from vitals.store.location import PostgresServer


@pytest.fixture(scope="session")
def pg_sample(pg_cluster: Cluster) -> Iterator[PostgresServer]:
    """A PostgreSQL database holding the sample; tests only read it."""
    name = pg_cluster.fresh_database()
    where = PostgresServer(pg_cluster.url(name))
    record_sample(where)
    yield where
    pg_cluster.drop(name)


SITES = ("riverside", "hillside")


@pytest.fixture(scope="session")
def central_sample(pg_cluster: Cluster) -> Iterator[PostgresServer]:
    """A central database holding the sample as two sites recorded it: chair ids qualified
    by their sites, the same patients' courses spanning both."""
    name = pg_cluster.fresh_database()
    where = PostgresServer(pg_cluster.url(name))
    for site in SITES:
        record_sample(where, site)
    yield where
    pg_cluster.drop(name)
