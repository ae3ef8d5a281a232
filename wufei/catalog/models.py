"""Reference data: the national hazardous waste list, GISW codes, treatment methods, regions, zones.

Shipped rows come from `data/*.csv` (copies of the national lists, see REPORT.md)
and are loaded by migration; zones (parks, special zones) are user-defined.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wufei.core.models import AuditedModel, ScopedQuerySet

HAZARD_CHARACTERISTICS = {
    "T": _("Toxicity"),
    "C": _("Corrosivity"),
    "I": _("Ignitability"),
    "R": _("Reactivity"),
    "In": _("Infectivity"),
}


class HazardousWasteCategory(models.Model):
    code = models.CharField(_("category"), max_length=4, primary_key=True)  # HW01 … HW50
    number = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["number"]
        verbose_name = _("hazardous waste category")
        verbose_name_plural = _("hazardous waste categories")

    def __str__(self):
        return f"{self.code} {self.name}"


class HazardousWaste(models.Model):
    """One 8-digit code of the national hazardous waste list (国家危险废物名录)."""

    code = models.CharField(_("waste code"), max_length=10, primary_key=True)  # NNN-NNN-NN
    category = models.ForeignKey(HazardousWasteCategory, on_delete=models.PROTECT, related_name="wastes")
    industry_source = models.CharField(_("industry source"), max_length=100)
    description = models.TextField(_("description"))
    hazards = models.CharField(_("hazard characteristics"), max_length=20)  # comma-joined, e.g. "T,I"
    hazard_notation = models.CharField(_("hazard notation"), max_length=20)  # official separators
    edition = models.CharField(_("edition"), max_length=8)

    class Meta:
        ordering = ["category__number", "code"]
        verbose_name = _("hazardous waste")
        verbose_name_plural = _("hazardous wastes")

    def __str__(self):
        return f"{self.code} {self.description[:30]}"

    @property
    def hazard_list(self) -> list[str]:
        return [h for h in self.hazards.split(",") if h]


class HazardousWasteExemption(models.Model):
    """A row of the exemption list (危险废物豁免管理清单): item, stage and condition."""

    edition = models.CharField(max_length=8)
    seq = models.PositiveSmallIntegerField(_("item"))
    category_or_code = models.CharField(_("category or code"), max_length=200)
    waste_name = models.TextField(_("waste"))
    exempt_stage = models.CharField(_("exempt stage"), max_length=100)
    exempt_condition = models.TextField(_("condition"))
    exempt_content = models.TextField(_("exemption"))

    class Meta:
        ordering = ["seq", "id"]

    def __str__(self):
        return f"{self.seq} {self.category_or_code} {self.exempt_stage}"

    @property
    def codes(self) -> list[str]:
        return [c for c in self.category_or_code.split(";") if c]


class GeneralSolidWasteCode(models.Model):
    """General solid waste code ranges (S01–S99) and the ledger's SWnn categories."""

    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    source = models.TextField(_("source"), blank=True)
    verified = models.BooleanField(_("verified"), default=False)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class TreatmentMethod(models.Model):
    """Utilization / disposal method codes (R-, D-, C-, Y-, G-codes)."""

    class Kind(models.TextChoices):
        UTILIZATION = "utilization", _("utilization")
        DISPOSAL = "disposal", _("disposal")
        OTHER = "other", _("other")

    code = models.CharField(_("method code"), max_length=6, primary_key=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    name_zh = models.CharField(_("Chinese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200)
    confidence = models.CharField(_("confidence"), max_length=40)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["kind", "code"]

    def __str__(self):
        return f"{self.code} {self.name_zh}"


class Region(models.Model):
    """A GB/T 2260 administrative division; `path` ('/500000/500113/') makes subtree queries one LIKE."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("province")
        CITY = "city", _("city")
        DISTRICT = "district", _("district / county")

    code = models.CharField(_("region code"), max_length=6, primary_key=True)
    name = models.CharField(_("name"), max_length=60)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=40, db_index=True)
    status = models.CharField(max_length=12, default="current")  # current / abolished
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return f"{self.code} {self.name}"


class Zone(AuditedModel):
    """A park (园区) or special zone (e.g. 万盛经开区) defined under a region by its regulator."""

    class Kind(models.TextChoices):
        PARK = "park", _("park")
        SPECIAL_ZONE = "special_zone", _("special zone")

    code = models.CharField(_("zone code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="zones")
    description = models.TextField(_("description"), blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["region_id", "code"]
        verbose_name = _("zone")
        verbose_name_plural = _("zones")

    def __str__(self):
        return self.name

    @classmethod
    def visibility_q(cls, scope):
        return Q()  # zones are public reference data

    @classmethod
    def editability_q(cls, scope):
        return scope.region_q("region__path")
