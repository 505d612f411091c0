"""The access audit kit every service that reads or changes child-level records uses (contract v1.1).

One column set (`AccessLogMixin`), one repository with one `record()` (`AccessLogRepository`), one
read endpoint (`audit_router`: `GET /{prefix}/audit?child_id=`, roles team_manager and ops, oldest
first). The tables stay append-only in the database itself (eoc_shared.migrations.make_append_only):
there is no update or delete path here either.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, Protocol, TypeVar

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import BigInteger, Identity, Index, Integer, String, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from eoc_shared.auth import Principal, Scope, requires
from eoc_shared.bulk import Dependent
from eoc_shared.db import UTCDateTime, utcnow
from eoc_shared.errors import NotFound
from eoc_shared.service import UoW

AuditReader = Annotated[Principal, Depends(requires(Scope.AUDIT_READ))]


class AccessLogMixin:
    """Who read or changed which child's record, when, in which request. Ids and codes only."""

    __tablename__: str

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    child_id: Mapped[uuid.UUID] = mapped_column()
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805 - SQLAlchemy's declared_attr takes the class
        return (Index(f"ix_{cls.__tablename__}_child_at", "child_id", "at"),)


class Actor(Protocol):
    """Whoever acts: a person's token or the service itself (each service's `Acting` has these)."""

    @property
    def actor(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def request_id(self) -> str | None: ...


E = TypeVar("E", bound=AccessLogMixin)


@functools.cache
def _insert_into(table: Any) -> Any:
    """One INSERT statement per audit table, built once."""
    return insert(table)


class AccessLogRepository(Generic[E]):
    """Appends and reads; a service subclasses it naming its model (`model = AuditEntry`)."""

    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def columns(action: str, entries: Sequence[tuple[Actor, Any]]) -> dict[str, list[Any]]:
        """One row per (actor, child), all with the same time (the action touched them together), as one list per
        column: what bulk writes (`bulk.copy_columns`, `insert_columns`) take as they are."""
        n = len(entries)
        return {"at": [utcnow()] * n, "actor": [acting.actor for acting, _ in entries],
                "role": [acting.role for acting, _ in entries], "action": [action] * n,
                "child_id": [child_id for _, child_id in entries],
                "request_id": [acting.request_id for acting, _ in entries]}

    @classmethod
    def _rows(cls, acting: Actor, action: str, child_ids: Iterable[uuid.UUID]) -> list[dict[str, Any]]:
        """`columns` for one actor and its distinct children, as one dict per row."""
        columns = cls.columns(action, [(acting, child_id) for child_id in dict.fromkeys(child_ids)])
        return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]

    def record(self, acting: Actor, action: str, child_ids: Iterable[uuid.UUID]) -> None:
        """The rows (one per distinct child) added to the session, written with its flush at commit."""
        self.session.add_all(self.model(**row) for row in self._rows(acting, action, child_ids))

    async def append(self, acting: Actor, action: str, child_ids: Iterable[uuid.UUID]) -> None:
        """`record`, written at once by one Core INSERT rather than as ORM objects flushed at commit: for the
        hot paths, where the unit of work's flush cost more than the row."""
        rows = self._rows(acting, action, child_ids)
        if rows:
            await self.session.execute(_insert_into(self.model.__table__), rows[0] if len(rows) == 1 else rows)

    @classmethod
    def dependent(cls, action: str, entries: Sequence[tuple[Actor, uuid.UUID]], parents: Sequence[Any]) -> Dependent:
        """The rows `columns` gives, for the INSERT that makes what they record to write itself, only for the rows
        it really inserts (`bulk.insert_with_dependents`; `parents[i]`: that row, for entry i)."""
        return Dependent(cls.model.__table__, cls.columns(action, entries), parents)

    async def of_child(self, child_id: uuid.UUID) -> Sequence[E]:
        stmt = select(self.model).where(self.model.child_id == child_id).order_by(self.model.seq)
        return list((await self.session.execute(stmt)).scalars())


class AuditEntryOut(BaseModel):
    at: datetime
    actor: str
    role: str
    action: str
    child_id: uuid.UUID
    request_id: str | None = None


def audit_router(
    prefix: str, repository: type[AccessLogRepository[Any]],
    known: Callable[[AsyncSession, uuid.UUID], Awaitable[bool]] | None = None,
) -> APIRouter:
    """`GET {prefix}/audit?child_id=`: every read and change of that child's records in this service.
    `known` lets the service that owns children answer 404 for a child it has never had."""
    router = APIRouter(prefix=prefix, tags=["audit"])

    @router.get("/audit", response_model=list[AuditEntryOut],
                summary="Every read and change of a child's records here, oldest first (team_manager, ops)")
    async def audit(child_id: Annotated[uuid.UUID, Query()], uow: UoW, _principal: AuditReader) -> list[AuditEntryOut]:
        if known is not None and not await known(uow.session, child_id):
            raise NotFound(f"there is no child {child_id}")
        rows = await repository(uow.session).of_child(child_id)
        return [AuditEntryOut(at=r.at, actor=r.actor, role=r.role, action=r.action, child_id=r.child_id,
                              request_id=r.request_id) for r in rows]

    return router
