"""Where a build's time goes: wall and CPU seconds per stage (`build --profile`).

A stage is reading the dumps (the parent's CPU plus the worker processes' conversions), one
SQL statement of the construction (named by the table it makes, under its module and
function: every `execute` of a `ProfiledConnection`), or a step in Python (the card). CPU
is the process's CPU time (`time.process_time`: every DuckDB thread), so CPU / wall is the
stage's effective parallelism: the number of cores it kept busy.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

_STATEMENT = re.compile(
    r"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW)\s+(\w+)|INSERT\s+INTO\s+(\w+)|(\w+))",
    re.IGNORECASE,
)


@dataclass
class Stage:
    """One stage's totals: wall and CPU seconds, and how many times it ran."""

    name: str
    wall_s: float = 0.0
    cpu_s: float = 0.0
    calls: int = 0

    @property
    def parallelism(self) -> float:
        """CPU / wall: the cores the stage kept busy on average."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


@dataclass
class BuildProfile:
    """The stages of one build, in the order they first ran."""

    stages: dict[str, Stage] = field(default_factory=dict)

    def add(self, name: str, wall_s: float, cpu_s: float, calls: int = 1) -> None:
        """Add `calls` runs of stage `name` (1: one statement)."""
        stage = self.stages.setdefault(name, Stage(name))
        stage.wall_s += wall_s
        stage.cpu_s += cpu_s
        stage.calls += calls

    @contextmanager
    def stage(self, name: str, calls: int = 1) -> Iterator[list[float]]:
        """Time the block as stage `name` (`calls`: the statements it runs); CPU seconds
        appended to the yielded list (other processes' work) are added to its CPU."""
        extra: list[float] = []
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield extra
        finally:
            self.add(
                name, time.perf_counter() - wall, time.process_time() - cpu + sum(extra), calls
            )

    def as_dict(self) -> dict[str, dict[str, float]]:
        """`{stage: {"wall_s", "cpu_s", "parallelism", "calls"}}` (JSON-ready)."""
        return {
            s.name: {
                "wall_s": round(s.wall_s, 3),
                "cpu_s": round(s.cpu_s, 3),
                "parallelism": round(s.parallelism, 2),
                "calls": s.calls,
            }
            for s in self.stages.values()
        }

    def table(self, top: int | None = None) -> str:
        """A text table of the stages (the `top` longest by wall time, the rest summed),
        with their total."""
        stages = list(self.stages.values())
        shown = sorted(stages, key=lambda s: -s.wall_s)[:top] if top else stages
        rest = [s for s in stages if s not in shown]
        lines = [f"{'stage':<44} {'wall s':>8} {'CPU s':>8} {'CPU/wall':>8}"]
        rows = [s for s in stages if s in shown]
        if rest:
            rows.append(
                Stage(
                    f"({len(rest)} other stages)",
                    sum(s.wall_s for s in rest),
                    sum(s.cpu_s for s in rest),
                )
            )
        rows.append(Stage("total", sum(s.wall_s for s in stages), sum(s.cpu_s for s in stages)))
        for s in rows:
            lines.append(f"{s.name[:44]:<44} {s.wall_s:8.2f} {s.cpu_s:8.2f} {s.parallelism:8.2f}")
        return "\n".join(lines)


def statement_name(sql: str, depth: int = 2) -> str:
    """`module.function: what` for a statement run by the caller `depth` frames up."""
    frame = sys._getframe(depth)
    module = frame.f_globals.get("__name__", "?").rsplit(".", 1)[-1]
    match = _STATEMENT.match(sql)
    if match is None:
        what = "?"
    elif match.group(1):
        what = match.group(1)
    elif match.group(2):
        what = f"insert {match.group(2)}"
    else:
        what = match.group(3).lower()
    return f"{module}.{frame.f_code.co_name}: {what}"


class ProfiledConnection:
    """A DuckDB connection whose `execute` is timed, one stage per statement
    (`statement_name`); everything else is the connection's."""

    def __init__(self, connection: Any, profile: BuildProfile) -> None:
        self._connection, self._profile = connection, profile

    def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        name = statement_name(query)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return self._connection.execute(query, *args, **kwargs)
        finally:
            self._profile.add(name, time.perf_counter() - wall, time.process_time() - cpu)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __enter__(self) -> ProfiledConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._connection.close()


def stage_of(con: Any, name: str, calls: int = 1) -> AbstractContextManager[Any]:
    """The block timed as stage `name` of `con`'s profile (statements run on other cursors
    of the database: side by side, in threads); nothing timed without a profile."""
    if isinstance(con, ProfiledConnection):
        return con._profile.stage(name, calls)
    return nullcontext()


__all__ = ["BuildProfile", "ProfiledConnection", "Stage", "stage_of", "statement_name"]
