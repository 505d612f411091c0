"""Families and their children: registering, reading and changing them (a care status change is published)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any, Final, Literal, TypeVar, cast

from sqlalchemy.exc import IntegrityError

from eoc_shared.acting import Acting
from eoc_shared.clock import today
from eoc_shared.db import UnitOfWork, new_ids, utcnow
from eoc_shared.errors import Conflict, DomainError, Invalid, NotFound
from eoc_shared.events.schemas import ChildUpdated
from eoc_shared.vocab import Ethnicity, LegalStatus, PlacementType, Sex
from referral_svc.access import ensure_may_read
from referral_svc.db.models import CareStatusChange, Child, Family
from referral_svc.db.repositories import AuditLog, Children, Families
from referral_svc.domain.ages import age_in_whole_years
from referral_svc.domain.children import CareStatus, after_change, effective_on_problem, is_care_change, placement_problem


class _Keep(enum.Enum):
    KEEP = "keep"


#: a field of a change left as it is (distinct from None, which clears a nullable field)
KEEP: Final = _Keep.KEEP
Keep = Literal[_Keep.KEEP]


@dataclass(frozen=True)
class _Changes:
    def given(self) -> dict[str, Any]:
        """The fields to change, by name; those left at KEEP stay as they are."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not KEEP}


# --------------------------------------------------------------------------------------------- families


@dataclass(frozen=True)
class NewFamily:
    la_reference: str
    postcode_district: str
    primary_language: str
    interpreter_needed: bool


@dataclass(frozen=True, kw_only=True)
class RegisteredFamily(NewFamily):
    """A family as registered: what was given and what the service stamped on it, from the values inserted
    (an ORM object built only to be read back cost 2–3 % of the request)."""

    id: uuid.UUID
    created_at: datetime
    created_by: str
    updated_at: datetime


@dataclass(frozen=True)
class FamilyChanges(_Changes):
    la_reference: str | Keep = KEEP
    postcode_district: str | Keep = KEEP
    primary_language: str | Keep = KEEP
    interpreter_needed: bool | Keep = KEEP


T = TypeVar("T")


def settled(result: T | DomainError) -> T:
    """A registration's result, or the error its request is answered with (raised here)."""
    if isinstance(result, DomainError):
        raise result
    return result


async def register_families(uow: UnitOfWork, registrations: list[tuple[NewFamily, Acting]]
                            ) -> list[RegisteredFamily | DomainError]:
    """Register families in one statement (concurrent requests' registrations: group commit); one result per
    registration, in order: the family, or the conflict its la_reference is. The unique index answers whether a
    la_reference is taken — by a family stored before, or by an earlier registration of these — with no
    look-up first, and never as an error of the statement."""
    now = utcnow()
    rows = [{"id": family_id, "created_at": now, "created_by": acting.actor, "updated_at": now, **asdict(data)}
            for family_id, (data, acting) in zip(new_ids(len(registrations)), registrations, strict=True)]
    # One INSERT and nothing else (no event, no audit row: no child yet), so no transaction around it.
    await uow.one_statement()
    inserted = await Families(uow.session).insert_new(rows)
    return [RegisteredFamily(**row) if row["id"] in inserted else
            Conflict(f"a family with la_reference {row['la_reference']!r} is already registered", field="la_reference")
            for row in rows]


async def register_family(uow: UnitOfWork, data: NewFamily, acting: Acting) -> RegisteredFamily:
    return settled((await register_families(uow, [(data, acting)]))[0])


async def read_family(uow: UnitOfWork, family_id: uuid.UUID, acting: Acting) -> tuple[Family, list[uuid.UUID]]:
    family = await Families(uow.session).get(family_id)
    if family is None:
        raise NotFound(f"there is no family {family_id}")
    await ensure_may_read(uow.session, acting, family_id=family_id)
    child_ids = await Families(uow.session).child_ids(family_id)
    AuditLog(uow.session).record(acting, "family.read", child_ids)
    return family, child_ids


async def update_family(
    uow: UnitOfWork, family_id: uuid.UUID, data: FamilyChanges, acting: Acting
) -> tuple[Family, list[uuid.UUID]]:
    families = Families(uow.session)
    family = await families.get(family_id, for_update=True)
    if family is None:
        raise NotFound(f"there is no family {family_id}")
    changes = data.given()
    if "la_reference" in changes and changes["la_reference"] != family.la_reference:
        if await families.by_reference(changes["la_reference"]) is not None:
            raise Conflict(f"a family with la_reference {changes['la_reference']!r} is already registered",
                           field="la_reference")
    for name, value in changes.items():
        setattr(family, name, value)
    family.updated_at = utcnow()
    await _flush_unique(uow, "la_reference", "a family with this la_reference is already registered")
    child_ids = await families.child_ids(family_id)
    AuditLog(uow.session).record(acting, "family.updated", child_ids)
    return family, child_ids


# --------------------------------------------------------------------------------------------- children


@dataclass(frozen=True)
class NewChild:
    la_child_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: Sex
    ethnicity: Ethnicity
    legal_status: LegalStatus
    nhs_number: str | None = None
    placement_type: PlacementType | None = None


@dataclass(frozen=True, kw_only=True)
class RegisteredChild(NewChild):
    """A child as registered, from the values inserted (as `RegisteredFamily`)."""

    id: uuid.UUID
    family_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ChildChanges(_Changes):
    """`nhs_number=None` removes a wrong number, `placement_type=None` ends a placement; a change of legal
    status or placement takes effect on `effective_on` (default today)."""

    la_child_id: str | Keep = KEEP
    given_name: str | Keep = KEEP
    family_name: str | Keep = KEEP
    date_of_birth: date | Keep = KEEP
    sex: Sex | Keep = KEEP
    ethnicity: Ethnicity | Keep = KEEP
    legal_status: LegalStatus | Keep = KEEP
    nhs_number: str | None | Keep = KEEP
    placement_type: PlacementType | None | Keep = KEEP
    effective_on: date | Keep = KEEP


async def add_children(uow: UnitOfWork, registrations: list[tuple[uuid.UUID, NewChild, Acting]]
                       ) -> list[RegisteredChild | DomainError]:
    """Register children in one statement (concurrent requests' registrations: group commit); one result per
    registration, in order: the child, or the error that request is answered with. Each is checked as one
    alone would be: its family, then its date of birth and placement, then whether its la_child_id or NHS
    number is taken — by a child stored before, or by an earlier registration of these."""
    # One INSERT (children and their audit rows together) among reads: no transaction around it on PostgreSQL.
    await uow.one_statement()
    known = await Families(uow.session).existing(list({family_id for family_id, _, _ in registrations}))
    now = utcnow()
    results: list[RegisteredChild | DomainError | None] = [None] * len(registrations)
    positions: list[int] = []
    for i, (family_id, data, _acting) in enumerate(registrations):
        try:
            if family_id not in known:
                raise NotFound(f"there is no family {family_id}")
            _check_date_of_birth(data.date_of_birth)
            problem = placement_problem(CareStatus(data.legal_status.value, data.placement_type))
            if problem:
                raise Invalid(problem, field="placement_type")
        except DomainError as refused:
            results[i] = refused
            continue
        positions.append(i)
    rows = [{"id": child_id, "family_id": registrations[i][0], "created_at": now, "updated_at": now,
             **asdict(registrations[i][1])} for i, child_id in zip(positions, new_ids(len(positions)), strict=True)]
    children = Children(uow.session)
    audited = AuditLog.dependent("child.created", [(registrations[i][2], row["id"]) for i, row in zip(positions, rows,
                                                                                                  strict=True)],
                                 parents=[row["id"] for row in rows])
    # The unique indexes answer whether la_child_id or the NHS number is taken: no look-ups first. A Core
    # INSERT, not an ORM flush: the answer is built from these values.
    inserted = await children.insert_new(rows, audited) if rows else set()
    skipped = [(i, row) for i, row in zip(positions, rows, strict=True) if row["id"] not in inserted]
    if skipped:
        la_taken, nhs_taken = await children.taken([row["la_child_id"] for _, row in skipped],
                                                   [row["nhs_number"] for _, row in skipped if row["nhs_number"]])
        for i, row in skipped:
            if row["la_child_id"] in la_taken:
                results[i] = Conflict(f"a child with la_child_id {row['la_child_id']!r} is already registered",
                                      field="la_child_id")
            elif row["nhs_number"] and row["nhs_number"] in nhs_taken:
                results[i] = Conflict("a child with this NHS number is already registered", field="nhs_number")
            else:
                results[i] = Conflict("a child with this la_child_id or NHS number is already registered",
                                      field="la_child_id")
    for i, row in zip(positions, rows, strict=True):
        if row["id"] in inserted:
            results[i] = RegisteredChild(**row)
    return cast("list[RegisteredChild | DomainError]", results)  # every position was given its result above


async def add_child(uow: UnitOfWork, family_id: uuid.UUID, data: NewChild, acting: Acting) -> RegisteredChild:
    return settled((await add_children(uow, [(family_id, data, acting)]))[0])


def _check_date_of_birth(date_of_birth: date) -> None:
    if date_of_birth > today():
        raise Invalid("is in the future", field="date_of_birth")
    if age_in_whole_years(date_of_birth, today()) > 25:
        raise Invalid("gives an age over 25; this service is for children and young people", field="date_of_birth")


async def read_child(uow: UnitOfWork, child_id: uuid.UUID, acting: Acting) -> tuple[Child, list[uuid.UUID]]:
    child = await Children(uow.session).get(child_id)
    if child is None:
        raise NotFound(f"there is no child {child_id}")
    await ensure_may_read(uow.session, acting, child_id=child_id)
    AuditLog(uow.session).record(acting, "child.read", [child.id])
    return child, await Children(uow.session).referral_ids(child_id)


async def update_child(
    uow: UnitOfWork, child_id: uuid.UUID, data: ChildChanges, acting: Acting
) -> tuple[Child, list[uuid.UUID]]:
    """Change a child's details. A change of legal status or placement is kept in the child's history
    and published as `child.updated`, effective on `effective_on` (default today)."""
    children = Children(uow.session)
    child = await children.get(child_id, for_update=True)
    if child is None:
        raise NotFound(f"there is no child {child_id}")
    changes = data.given()
    effective_on = changes.pop("effective_on", None) or today()

    if "date_of_birth" in changes:
        _check_date_of_birth(changes["date_of_birth"])
        first_referral = await children.earliest_referral_date(child_id)
        if first_referral is not None and changes["date_of_birth"] > first_referral:
            raise Invalid(f"is after the child's referral on {first_referral.isoformat()}", field="date_of_birth")
    if "la_child_id" in changes and changes["la_child_id"] != child.la_child_id:
        if await children.by_la_child_id(changes["la_child_id"]) is not None:
            raise Conflict(f"a child with la_child_id {changes['la_child_id']!r} is already registered",
                           field="la_child_id")
    if changes.get("nhs_number") and changes["nhs_number"] != child.nhs_number:
        if await children.by_nhs_number(changes["nhs_number"]) is not None:
            raise Conflict("a child with this NHS number is already registered", field="nhs_number")

    before = CareStatus(child.legal_status, child.placement_type)
    legal = changes.get("legal_status")
    after = after_change(
        before,
        legal_status=legal.value if legal is not None else None,
        placement_type=changes.get("placement_type"),
        placement_given="placement_type" in changes,
    )
    problem = placement_problem(after)
    if problem:
        raise Invalid(problem, field="placement_type")
    care_changed = is_care_change(before, after)
    if care_changed:
        problem = effective_on_problem(effective_on, today=today(), date_of_birth=changes.get("date_of_birth",
                                                                                              child.date_of_birth))
        if problem:
            raise Invalid(problem, field="effective_on")
    elif data.effective_on is not KEEP:
        raise Invalid("applies only to a change of legal_status or placement_type", field="effective_on")

    for name, value in changes.items():
        if name not in ("legal_status", "placement_type"):
            setattr(child, name, value.value if hasattr(value, "value") else value)
    child.legal_status, child.placement_type = after.legal_status, after.placement_type
    now = utcnow()
    child.updated_at = now
    await _flush_unique(uow, "la_child_id", "a child with this la_child_id or NHS number is already registered")

    if care_changed:
        uow.session.add(CareStatusChange(
            child_id=child.id, effective_on=effective_on, legal_status_before=before.legal_status,
            legal_status=after.legal_status, placement_type_before=before.placement_type,
            placement_type=after.placement_type, recorded_at=now, recorded_by=acting.actor,
        ))
        uow.publish("child.updated", key=child.id, data=ChildUpdated(
            child_id=child.id, family_id=child.family_id, legal_status_before=before.legal_status,
            legal_status=after.legal_status, placement_type_before=before.placement_type,
            placement_type=after.placement_type, effective_on=effective_on,
        ))
    AuditLog(uow.session).record(acting, "child.updated", [child.id])
    return child, await children.referral_ids(child_id)


async def _flush_unique(uow: UnitOfWork, field: str, message: str) -> None:
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        await uow.rollback()
        raise Conflict(message, field=field) from exc
