import pytest

from tests.core.scratch import Databases


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """A migrated scratch database, made once per session, that `databases.new(name)` copies."""
    databases = Databases(tmp_path_factory.mktemp("template"), "tpl")
    databases.prepare_template()
    yield databases.template
    databases.drop_all()


@pytest.fixture(scope="module")
def databases(migrated_template, tmp_path_factory):
    """Scratch databases for the `wufei` processes a test starts (files, or databases on the PostgreSQL server)."""
    databases = Databases(tmp_path_factory.mktemp("databases"), "t")
    databases.template = migrated_template
    yield databases
    databases.drop_all()
