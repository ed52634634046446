"""The monitor's tables: each (target, check)'s state with its clean streak, the alerts opened and
resolved, and each domain's last snapshot."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from maildoctor.store.database import monitor_alerts, monitor_snapshots, monitor_states


@dataclass(frozen=True)
class State:
    target: str
    check: str
    state: str
    detail: str
    since: float
    clean_streak: int
    updated: float


@dataclass(frozen=True)
class Alert:
    id: int
    target: str
    check: str
    kind: str
    opened: float
    resolved: float | None
    title: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "target": self.target,
            "check": self.check,
            "kind": self.kind,
            "opened": self.opened,
            "resolved": self.resolved,
            "title": self.title,
            **self.detail,
        }


class MonitorStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def states(self) -> dict[tuple[str, str], State]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(monitor_states)).mappings().all()
        return {(r["target"], r["check"]): State(**dict(r)) for r in rows}

    def write_states(self, put: list[State], drop: list[tuple[str, str]]) -> None:
        """One transaction for a cycle's changes of state."""
        if not put and not drop:
            return
        with self.engine.begin() as conn:
            for target, check in [*drop, *((s.target, s.check) for s in put)]:
                conn.execute(delete(monitor_states).where(monitor_states.c.target == target, monitor_states.c.check == check))
            if put:
                conn.execute(insert(monitor_states), [vars(s) for s in put])

    def open_alert(self, target: str, check: str, kind: str, at: float, title: str, detail: dict[str, Any]) -> Alert:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(monitor_alerts).values(
                    target=target, check=check, kind=kind, opened=at, resolved=None, title=title, detail=json.dumps(detail)
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            alert_id = int(key[0])
        return Alert(alert_id, target, check, kind, at, None, title, detail)

    def resolve(self, alert: Alert, at: float) -> Alert:
        with self.engine.begin() as conn:
            conn.execute(update(monitor_alerts).where(monitor_alerts.c.id == alert.id).values(resolved=at))
        return Alert(alert.id, alert.target, alert.check, alert.kind, alert.opened, at, alert.title, alert.detail)

    def alerts(self, open_only: bool = False, limit: int = 200) -> list[Alert]:
        query = select(monitor_alerts).order_by(monitor_alerts.c.id.desc()).limit(limit)
        if open_only:
            query = query.where(monitor_alerts.c.resolved.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [Alert(**{**dict(r), "detail": json.loads(r["detail"])}) for r in rows]

    def snapshot(self, target: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(monitor_snapshots.c.snapshot).where(monitor_snapshots.c.target == target)).first()
        return json.loads(row[0]) if row else None

    def save_snapshot(self, target: str, snapshot: dict[str, Any], at: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(monitor_snapshots).where(monitor_snapshots.c.target == target))
            conn.execute(insert(monitor_snapshots).values(target=target, snapshot=json.dumps(snapshot), taken=at))
