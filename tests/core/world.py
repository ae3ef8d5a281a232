"""A small district with real content, built the way its users build it, in the database WUFEI_DATABASE_URL names
(run as `python -m tests.core.world` by the recovery tests, on a migrated scratch database).

Three units registered through the registry's services (a generator, a carrier with a vehicle and a driver, a
licensed receiver), accounts for them; then through the API: two batches recorded, a manifest drafted, submitted,
picked up and received at the weighbridge; and a public report of illegal dumping with a photo (an uploaded file
under MEDIA_ROOT). Prints a JSON line: the manifest id, the photo's storage path, the organizations' ids and an
API token for each account.
"""

import datetime as dt
import json
from decimal import Decimal

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def build() -> dict:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from wufei.cases.models import ReportPhoto
    from wufei.core.ids import make_uscc
    from wufei.core.scope import Scope
    from wufei.core.tokens import issue_token
    from wufei.registry import services
    from wufei.registry.models import Site

    admin = Scope(is_platform_admin=True)
    today = dt.date.today()

    def unit(name, serial, roles):
        return services.create_organization(scope=admin, data={
            "uscc": make_uscc("91", "500113", f"MB{serial:07d}"), "name": name, "region": "500113", "roles": roles})

    generator, carrier, receiver = (unit("恢复测试化工", 1, ["generator"]), unit("恢复测试运输", 2, ["transporter"]),
                                    unit("恢复测试处置中心", 3, ["receiver"]))
    services.add_site(scope=admin, data={"organization": generator.uscc, "name": "贮存库", "kind": "storage"})
    vehicle = services.add_vehicle(scope=admin, data={
        "organization": carrier.uscc, "plate": "渝A20001", "transport_permit_number": "渝交运2",
        "transport_permit_valid_until": today + dt.timedelta(days=300)})
    services.add_permit(scope=admin, data={
        "organization": receiver.uscc, "number": "渝危废9101号", "kind": "comprehensive",
        "valid_from": today - dt.timedelta(days=10), "valid_until": today + dt.timedelta(days=300)},
        lines=[{"waste": "HW06", "annual_capacity_tonnes": Decimal("100"), "methods": ["D10"]}])
    clients, tokens = {}, {}
    for key, organization, role in (("g", generator, "admin"), ("d", carrier, "driver"), ("r", receiver, "admin")):
        user = get_user_model().objects.create_user(username=f"recovery-{key}", password="recovery-pw-2026!")
        services.add_member(scope=admin, organization_id=organization.pk, username=user.username, role=role)
        clients[key] = Client()
        clients[key].force_login(user)
        tokens[key] = issue_token(user=user, name="recovery test")[1]

    def call(who, method, path, body=None, expect=200):
        answer = clients[who].generic(method, f"/api/v1/{path}", json.dumps(body) if body is not None else "",
                                      content_type="application/json")
        assert answer.status_code == expect, (path, answer.status_code, answer.content[:400])
        return answer.json()

    def sign(who, manifest_id, step, **data):
        version = call(who, "GET", f"manifests/{manifest_id}")["version"]
        return call(who, "POST", f"manifests/{manifest_id}/sign", {"step": step, "version": version, "data": data})

    store = Site.objects.get(organization=generator)
    made = []
    for tonnes in ("0.5", "0.75"):
        made += call("g", "POST", "containers", {
            "organization_id": generator.pk, "waste_code": "900-402-06", "waste_name": "废有机溶剂",
            "physical_form": "liquid", "packaging": "drum", "count": 2, "net_weight_tonnes": tonnes,
            "storage_site_id": store.pk}, expect=201)
    manifest = call("g", "POST", "manifests", {
        "kind": "hazardous", "generator_id": generator.pk, "receiver_id": receiver.pk,
        "container_codes": [c["code"] for c in made], "planned_method": "D10",
        "legs": [{"transporter_id": carrier.pk, "vehicle_id": vehicle.pk, "driver_name": "王师傅"}]}, expect=201)
    sign("g", manifest["id"], "submit")
    sign("d", manifest["id"], "pickup", vehicle_id=vehicle.pk, driver_name="王师傅")
    received = sign("r", manifest["id"], "receive", received_tonnes="2.45")
    assert received["status"] == "received", received["status"]
    report = Client().post("/api/v1/cases/reports", {
        "kind": "illegal_dumping", "region": "500113", "place": "巴南区某桥下",
        "description": "桥下有人倾倒废油桶十余个。", "consent": "true",
        "photos": [SimpleUploadedFile("桥下.png", PNG, content_type="image/png")]})
    assert report.status_code == 201, report.content[:400]
    photo = ReportPhoto.objects.get()
    return {"manifest": manifest["id"], "photo": photo.path, "generator": generator.pk, "receiver": receiver.pk,
            "tokens": tokens}


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(build()))
