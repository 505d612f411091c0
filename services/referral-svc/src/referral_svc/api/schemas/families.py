"""Bodies for families and their children: registering, reading and changing them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from pydantic import StrictBool

from eoc_shared.api import IsoDate, StrictModel
from eoc_shared.text import Text
from eoc_shared.vocab import Ethnicity, LegalStatus, PlacementType, Sex
from referral_svc.api.schemas.fields import Language, NhsNumber, PatchModel, PostcodeDistrict, ReadModel, Reference


class FamilyIn(StrictModel):
    la_reference: Reference
    postcode_district: PostcodeDistrict
    primary_language: Language
    interpreter_needed: StrictBool


class FamilyPatch(PatchModel):
    la_reference: Reference | None = None
    postcode_district: PostcodeDistrict | None = None
    primary_language: Language | None = None
    interpreter_needed: StrictBool | None = None


class FamilyOut(ReadModel):
    id: uuid.UUID
    la_reference: str
    postcode_district: str
    primary_language: str
    interpreter_needed: bool
    child_ids: list[uuid.UUID] = []
    created_at: datetime
    updated_at: datetime | None = None


class ChildIn(StrictModel):
    la_child_id: Reference
    given_name: Text
    family_name: Text
    date_of_birth: IsoDate
    sex: Sex
    ethnicity: Ethnicity
    legal_status: LegalStatus
    nhs_number: NhsNumber | None = None
    placement_type: PlacementType | None = None


class ChildPatch(PatchModel):
    """Changes to a child's details. `nhs_number: null` removes a wrong number; `placement_type: null` ends a
    placement. A change of legal status or placement takes effect on `effective_on` (default today)."""

    nullable: ClassVar[frozenset[str]] = frozenset({"nhs_number", "placement_type"})

    la_child_id: Reference | None = None
    given_name: Text | None = None
    family_name: Text | None = None
    date_of_birth: IsoDate | None = None
    sex: Sex | None = None
    ethnicity: Ethnicity | None = None
    legal_status: LegalStatus | None = None
    nhs_number: NhsNumber | None = None
    placement_type: PlacementType | None = None
    effective_on: IsoDate | None = None


class ChildOut(ReadModel):
    id: uuid.UUID
    family_id: uuid.UUID
    la_child_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str
    ethnicity: str
    legal_status: str
    nhs_number: str | None
    placement_type: str | None
    created_at: datetime
    updated_at: datetime
    referral_ids: list[uuid.UUID] = []
