"""The OpenAPI document describes what the API answers: one schema per name, and the error answers each operation
can give, with the error body."""

from collections import defaultdict

import ninja
import pytest

import wufei.urls  # noqa: F401 - every router is mounted, so every schema is defined

pytestmark = pytest.mark.django_db


def _schema_classes(cls=ninja.Schema):
    for sub in cls.__subclasses__():
        yield sub
        yield from _schema_classes(sub)


def test_no_two_api_shapes_share_a_name():
    """The document keys its shapes by class name: two classes of one name made one replace the other, and a plan,
    a report or a track point was documented with another app's fields."""
    names = defaultdict(set)
    for cls in _schema_classes():
        if cls.__module__.startswith("wufei."):
            names[cls.__name__].add(cls.__module__)
    assert {name: where for name, where in names.items() if len(where) > 1} == {}


def test_every_operation_documents_its_error_answers(client):
    document = client.get("/api/v1/openapi.json").json()
    error = {"$ref": "#/components/schemas/ErrorOut"}
    create = document["paths"]["/api/v1/containers"]["post"]["responses"]
    assert set(create) == {"201", "400", "401", "403", "404", "409", "422"}
    assert all(create[status]["content"]["application/json"]["schema"] == error for status in create if status != "201")
    me = document["paths"]["/api/v1/me"]["get"]["responses"]
    assert set(me) == {"200", "401", "403", "422"}  # nothing to find, nothing to change
    assert set(document["components"]["schemas"]["ErrorOut"]["required"]) == {"code", "message"}
