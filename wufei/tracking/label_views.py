"""Label pages and API (printable PDF labels with QR codes); see tracking/labels.py."""

from ninja import Router

router = Router(tags=["labels"])
urlpatterns = []
