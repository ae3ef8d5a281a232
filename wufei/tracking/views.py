"""Container pages: record a batch, the scan page, storage inventory, container detail."""
