"""Who is acting: services take the actor explicitly, never from the request."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_

ROLES = ("inspector", "clerk", "supervisor", "head", "admin")


@dataclass(frozen=True)
class Actor:
    username: str
    roles: tuple[str, ...]
    region: str  # GB/T 2260 prefix; "" sees every region (national administrators, the sweeper)
    user_id: int | None = None
    display_name: str = field(default="", compare=False)

    @classmethod
    def of(cls, user) -> Actor:
        return cls(user.username, tuple(user.roles), user.region, user.id, user.display_name or user.username)

    def has_role(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    @property
    def scope(self) -> str:
        return scope_prefix(self.region)

    def covers(self, region: str) -> bool:
        return region.startswith(self.scope)


SYSTEM = Actor("system", ("admin",), "")


def scope_prefix(region: str) -> str:
    """The significant part of a GB/T 2260 code: a prefecture 532300 covers 5323xx, a province 530000 covers
    53xxxx, a county 532301 covers itself."""
    code = region or ""
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return "" if code in ("", "00") else code


def region_filter(column, actor: Actor) -> ColumnElement[bool]:
    """The one place region scoping is written: `column` lies within the actor's region."""
    prefix = actor.scope
    if not prefix:
        return column.is_not(None)
    # Region codes are digits only (validated at sign-up): "5323%" is the range ["5323", "5324"), which both
    # databases answer from a b-tree index (SQLite's LIKE and PostgreSQL's LIKE under a locale cannot use one).
    if not prefix.isdigit():
        return column.like(prefix + "%")
    upper = str(int(prefix) + 1).zfill(len(prefix))
    if len(upper) > len(prefix):  # "99..." has no upper neighbour
        return column >= prefix
    return and_(column >= prefix, column < upper)
