"""Fixtures for service tests that commit in batches (exchange): the store, its scope, transactions."""

from tests.exchange_support import scope, second_database_url, state, transactions

__all__ = ["scope", "second_database_url", "state", "transactions"]
