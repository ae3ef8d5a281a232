import pytest

from wufei.registry import views as registry_views


def test_workspace_lists_only_the_callers_units_with_their_sections(make_org, member_of, client_for, monkeypatch):
    from django.template import Template

    mine, other = make_org("我的单位"), make_org("别人的单位")
    section = registry_views.OrganizationSection(
        key="probe", title="探针", template=Template("<p>probe for {{ organization.name }}: {{ section.data.n }}</p>"),
        data=lambda scope, org: {"n": 42})
    monkeypatch.setitem(registry_views.ORGANIZATION_SECTIONS, "probe", section)
    page = client_for(member_of(mine)).get("/workspace/", HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200
    assert "我的单位" in text and "probe for 我的单位: 42" in text
    assert other.name not in text


def test_workspace_without_units_says_so(regulator_of, client_for):
    page = client_for(regulator_of()).get("/workspace/", HTTP_ACCEPT_LANGUAGE="en")
    assert "does not act for any organization" in page.content.decode()


@pytest.mark.django_db
def test_workspace_needs_login(client):
    assert client.get("/workspace/").status_code == 302
