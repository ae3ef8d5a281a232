"""Containers API: record batches (五即), scans, merge / split, storage inventory, trace."""

from ninja import Router

from wufei.tracking.label_views import router as labels_router

router = Router(tags=["containers"])
router.add_router("", labels_router)
