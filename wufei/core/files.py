"""Uploaded evidence files (佐证材料): checked, stored under MEDIA_ROOT by content digest, described by a row.

Each domain keeps its own evidence model (who may see it follows the record it proves); this module
does the part they share: the allowed types, the size limit, the digest and the storage name.
"""

import hashlib
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from wufei.core.errors import ValidationFailed, field_error

EVIDENCE_EXTENSIONS = (".pdf", ".jpg", ".jpeg", ".png", ".docx", ".doc", ".xlsx", ".xls", ".zip", ".ofd")
ATTACHMENT_EXTENSIONS = (".pdf", ".jpg", ".jpeg", ".png", ".doc", ".docx", ".xls", ".xlsx", ".zip", ".txt")
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    path: str
    name: str
    size: int
    sha256: str


def bounded_read(upload, max_bytes: int) -> bytes:
    """The bytes of an upload (bytes, or Django's UploadedFile read only now and never past `max_bytes` + 1)."""
    if isinstance(upload, bytes | bytearray):
        return bytes(upload)
    if upload is None:
        return b""
    if (upload.size or 0) > max_bytes:
        raise ValidationFailed(_("evidence is not valid"), errors=[
            {"field": "file", "message": _("the file is larger than %(n)s MB") % {"n": max_bytes // 2**20}}])
    return upload.read(max_bytes + 1)


def checked_attachment(file, *, extensions: tuple[str, ...] = ATTACHMENT_EXTENSIONS,
                       max_bytes: int = MAX_ATTACHMENT_BYTES) -> tuple[str, str]:
    """An attachment that its model keeps in a FileField (an alert's rectification photo, a change request's
    supporting file): its type and size checked, then the name to keep it under and its SHA-256."""
    name = (getattr(file, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1][:200]
    if not name.lower().endswith(extensions):
        raise ValidationFailed(_("this kind of file is not accepted"), errors=[field_error("file", name)])
    if file.size > max_bytes:
        raise ValidationFailed(_("the file is too large"), errors=[field_error("file", name)])
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return name, digest.hexdigest()


def store_evidence(*, folder: str, name: str, content, max_bytes: int,
                   extensions: tuple[str, ...] = EVIDENCE_EXTENSIONS) -> StoredFile:
    """Check an upload (type by extension, not empty, size) and store it; errors name the `file` field.

    `content` is bytes or an uploaded file, read only here, after the caller's permission was checked."""
    content = bounded_read(content, max_bytes)
    name = (name or "").strip().replace("/", "_").replace("\\", "_")[:200]
    errors = []
    if not name or not name.lower().endswith(extensions):
        errors.append({"field": "file", "message": _("allowed files: %(types)s") % {"types": " ".join(extensions)}})
    if not content:
        errors.append({"field": "file", "message": _("the file is empty")})
    elif len(content) > max_bytes:
        errors.append({"field": "file", "message": _("the file is larger than %(n)s MB") % {"n": max_bytes // 2**20}})
    if errors:
        raise ValidationFailed(_("evidence is not valid"), errors=errors)
    digest = hashlib.sha256(content).hexdigest()
    path = default_storage.save(f"{folder}/{digest[:2]}/{digest}-{name}", ContentFile(content))
    return StoredFile(path=path, name=name, size=len(content), sha256=digest)


def read(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()
