"""The manifests' transfer chain, for the ledger tests that sign manifests."""

from tests.manifests.conftest import chain  # noqa: F401  (the fixture, for this package)
