"""Errors that services raise; the API turns them into a stable JSON shape.

Every error has a machine `code` (stable, documented) and a human `message`;
validation errors also carry `errors`: a list of {field, message} (and row/column
for files).
"""


class WufeiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.errors = errors or []

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class ValidationFailed(WufeiError):
    status = 422
    code = "validation_failed"


class NotFound(WufeiError):
    status = 404
    code = "not_found"


class PermissionDenied(WufeiError):
    status = 403
    code = "permission_denied"


class Conflict(WufeiError):
    status = 409
    code = "conflict"


class RuleViolation(WufeiError):
    """A business rule from the regulations says no; `code` names the rule."""

    status = 422
    code = "rule_violation"


def field_error(field: str, message: str, **extra) -> dict:
    return {"field": field, "message": message, **extra}
