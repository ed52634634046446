"""Alerts only on change: a listing opens an alert the first cycle it is seen and is resolved only
after `clean_cycles` clean cycles in a row (an answer that cannot be trusted counts for nothing);
a record change is an alert of its own. Each alert says what, since when, the evidence, and
where to go (the delisting page) or what to check."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.monitor.watch import LISTED_STATE, UNKNOWN_STATE, Change, Observation
from maildoctor.store.monitor import Alert, MonitorStore, State

OPENED, RESOLVED = "opened", "resolved"


@dataclass(frozen=True)
class Event:
    what: str  # opened, resolved
    alert: Alert

    def to_json(self) -> dict[str, object]:
        return {"event": self.what, "alert": self.alert.to_json()}

    def words(self) -> str:
        """One line for chat and mail."""
        if self.what == RESOLVED:
            return f"Resolved: {self.alert.title}"
        detail = self.alert.detail
        where = f" — {detail['delist']}" if detail.get("delist") else ""
        return f"{self.alert.title}{where}"


class Tracker:
    def __init__(self, store: MonitorStore, clean_cycles: int) -> None:
        self.store = store
        self.clean_cycles = clean_cycles
        self.states = store.states()
        self.kept = set(self.states)  # the states in the database: a listing and its way back to clean
        self.pending: dict[tuple[str, str], State | None] = {}  # written at the end of the cycle (None: deleted)
        self.open = {(a.target, a.check): a for a in store.alerts(open_only=True)}
        self.new_cycle()

    def listed(self, target: str) -> bool:
        """Whether the target stands listed on any list (an alert open on it)."""
        return any(state.state == LISTED_STATE for (t, _), state in self.states.items() if t == target)

    def new_cycle(self) -> None:
        self.counts: dict[str, list[int]] = {}  # per target: answers this cycle, those not trusted

    def observe(self, seen: Observation, now: float) -> list[Event]:
        key = (seen.target, seen.check)
        before = self.states.get(key)
        counted = self.counts.setdefault(seen.target, [0, 0])
        counted[0] += 1
        if seen.state == UNKNOWN_STATE:  # no answer to trust: the state stands as it was
            counted[1] += 1
            return []
        events = []
        if seen.state == LISTED_STATE:
            since = before.since if before is not None and before.state == LISTED_STATE else now
            self._put(State(seen.target, seen.check, LISTED_STATE, seen.detail, since, 0, now))
            if key not in self.open:
                name = seen.evidence.get("list", seen.check)
                alert = self.store.open_alert(
                    seen.target,
                    seen.check,
                    "listed",
                    now,
                    f"{seen.target} is listed on {name}",
                    {
                        **seen.evidence,
                        "since": since,
                        "fix": "Find the cause (a compromised account, a form, a bought list), fix it, then request removal.",
                    },
                )
                self.open[key] = alert
                events.append(Event(OPENED, alert))
            return events
        streak = (before.clean_streak + 1) if before is not None and before.state == LISTED_STATE else self.clean_cycles
        if before is not None and before.state == LISTED_STATE and streak < self.clean_cycles:
            self._put(State(seen.target, seen.check, LISTED_STATE, before.detail, before.since, streak, now))  # not yet: hysteresis
            return []
        if before is not None:  # clean again: nothing is kept of a clean answer (most of them)
            del self.states[key]
            if key in self.kept:
                self.pending[key] = None
                self.kept.discard(key)
        if key in self.open:
            events.append(Event(RESOLVED, self.store.resolve(self.open.pop(key), now)))
        return events

    def changed(self, change: Change, now: float) -> Event:
        """A record change: an alert opened and closed at once (it happened; the timeline keeps it)."""
        detail = {
            "before": change.before,
            "after": change.after,
            "fix": "If you did not make this change, find who did: the records decide where your mail is accepted.",
        }
        alert = self.store.open_alert(change.target, change.check, "changed", now, change.title, detail)
        return Event(OPENED, self.store.resolve(alert, now))

    def problem(
        self, target: str, check: str, title: str, detail: dict[str, object], now: float, holds: bool, kind: str = "relays"
    ) -> list[Event]:
        """An alert that stands while a condition holds (every relay of a pool listed)."""
        key = (target, check)
        if holds and key not in self.open:
            alert = self.store.open_alert(target, check, kind, now, title, detail)
            self.open[key] = alert
            return [Event(OPENED, alert)]
        if not holds and key in self.open:
            return [Event(RESOLVED, self.store.resolve(self.open.pop(key), now))]
        return []

    def _put(self, state: State) -> None:
        """A listing (with its clean streak), in memory and in the database: clean answers, thousands
        a cycle, are counted, not kept."""
        key = (state.target, state.check)
        before = self.states.get(key)
        self.states[key] = state
        if (
            before is None
            or (before.state, before.clean_streak, before.detail) != (state.state, state.clean_streak, state.detail)
            or key not in self.kept
        ):
            self.pending[key] = state
            self.kept.add(key)

    def flush(self) -> None:
        """Write the cycle's changes of state, in one transaction."""
        put = [s for s in self.pending.values() if s is not None]
        drop = [k for k, s in self.pending.items() if s is None]
        self.store.write_states(put, drop)
        self.pending.clear()
