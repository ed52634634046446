"""The MTA-STS policy file (RFC 8461 §3.2): key/value lines, and MX pattern matching (§4.1).

Pure: never raises on any text, every problem is reported with its line."""

from __future__ import annotations

from dataclasses import dataclass, field

MODES = ("enforce", "testing", "none")
MAX_AGE_LIMIT = 31557600  # one year, RFC 8461 §3.2
SHORT_MAX_AGE = 86400


@dataclass
class MtaStsPolicy:
    version: str = ""
    mode: str = ""
    max_age: int | None = None
    mx: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # legal but unwise

    def covers(self, host: str) -> bool:
        return any(mx_pattern_matches(pattern, host) for pattern in self.mx)


def mx_pattern_matches(pattern: str, host: str) -> bool:
    """'mail.example.com' matches itself; '*.example.com' matches exactly one more leftmost label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def parse_mtasts_policy(text: str) -> MtaStsPolicy:
    policy = MtaStsPolicy()
    seen: set[str] = set()
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not colon or not key:
            policy.problems.append(f"line {number} '{line[:60]}' is not 'key: value'")
            continue
        if key != key.lower() and key.lower() in ("version", "mode", "max_age", "mx"):
            policy.problems.append(f"line {number}: key '{key}' must be lower case")
            key = key.lower()
        if key in ("version", "mode", "max_age") and key in seen:
            policy.problems.append(f"line {number}: {key} appears twice")
            continue
        seen.add(key)
        if key == "version":
            policy.version = value
        elif key == "mode":
            policy.mode = value
        elif key == "max_age":
            if value.isdigit() and len(value) <= 10:
                policy.max_age = int(value)
            else:
                policy.problems.append(f"line {number}: max_age '{value}' is not a number of seconds")
        elif key == "mx":
            if value and all(part and all(c.isalnum() or c in "-_" for c in part) for part in value.removeprefix("*.").split(".")):
                policy.mx.append(value.lower())
            else:
                policy.problems.append(f"line {number}: mx '{value}' is not a host name or *.domain pattern")
    if policy.version != "STSv1":
        policy.problems.append(f"version is '{policy.version}', it must be 'STSv1'" if policy.version else "no 'version: STSv1' line")
    if policy.mode not in MODES:
        policy.problems.append(f"mode is '{policy.mode}', it must be enforce, testing or none" if policy.mode else "no 'mode:' line")
    if policy.max_age is None and "max_age" not in seen:
        policy.problems.append("no 'max_age:' line")
    elif policy.max_age is not None and policy.max_age > MAX_AGE_LIMIT:
        policy.problems.append(f"max_age {policy.max_age} is above the limit of {MAX_AGE_LIMIT} seconds (one year)")
    elif policy.max_age is not None and policy.max_age < SHORT_MAX_AGE and policy.mode == "enforce":
        policy.notes.append(f"max_age {policy.max_age} is under a day: senders refetch often and a downgrade attack needs only wait")
    if not policy.mx and policy.mode in ("enforce", "testing"):
        policy.problems.append("no 'mx:' line: in enforce or testing mode the policy must list the MX hosts")
    return policy
