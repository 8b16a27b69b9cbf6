"""What a fault scenario reports: named checks, each passed or not, with the figures behind it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str  #: the figures that decided it, e.g. "412 answered 503, 0 answered 500"


@dataclass
class Outcome:
    scenario: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  #: figures worth quoting that decide nothing

    def check(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append(Check(name, bool(passed), detail))
        return bool(passed)

    def note(self, line: str) -> None:
        self.notes.append(line)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def lines(self) -> list[str]:
        out = [f"== {self.scenario}: {'PASSED' if self.passed else 'FAILED'}"]
        out += [f"   {'ok  ' if c.passed else 'FAIL'} {c.name}: {c.detail}" for c in self.checks]
        out += [f"   note {n}" for n in self.notes]
        return out
