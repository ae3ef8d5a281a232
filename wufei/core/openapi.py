"""The error answers in the OpenAPI document: each operation documents the error statuses it can give, all with the
one error body the API writes (`{code, message, errors}`, see core/errors.py and core/api.py).

Which operation can give which status follows from what it takes, as a table: a rule per status says which
operations it applies to. An operation adds a status of its own with `openapi_extra={"responses": {...}}` (e.g.
429 where a rate limit applies).
"""

from ninja import Schema


class FieldErrorOut(Schema):
    field: str = ""
    message: str
    row: int | None = None  # files: the row and column of the cell
    column: str | None = None


class ErrorOut(Schema):
    code: str
    message: str
    errors: list[FieldErrorOut] = []


WRITES = {"post", "put", "patch", "delete"}


def _secured(method, operation):
    return bool(operation.get("security"))


def _takes_input(method, operation):
    return bool(operation.get("parameters") or operation.get("requestBody"))


def _has_body(method, operation):
    return "requestBody" in operation


def _writes(method, operation):
    return method in WRITES


# status: (which operations, what it means)
ERROR_RESPONSES = {
    400: (_has_body, "The body cannot be read (not JSON, or not a form)"),
    401: (_secured, "Not logged in and no valid API token"),
    403: (_secured, "The caller may not do this (role, organization or region)"),
    404: (_takes_input, "A record named in the request does not exist or is not visible to the caller"),
    409: (_writes, "The record changed since the caller read it (stale `version`), or the same Idempotency-Key is "
                   "being processed"),
    422: (lambda method, operation: True, "The request is not valid: `errors` names each field (a NUL character "
                                          "in any text, a figure or a date out of range, a rule of the regulations)"),
}


def error_schema() -> dict[str, dict]:
    """The components ErrorOut and FieldErrorOut, with references between them."""
    schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {**definitions, "ErrorOut": schema}


def document_errors(schema: dict) -> dict:
    schema.setdefault("components", {}).setdefault("schemas", {}).update(error_schema())
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for operations in schema["paths"].values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, (applies, description) in ERROR_RESPONSES.items():
                if applies(method, operation) and status not in responses and str(status) not in responses:
                    responses[status] = {"description": description, "content": content}
            for status, response in responses.items():
                if int(status) >= 400 and "content" not in response:
                    response["content"] = content
    return schema
