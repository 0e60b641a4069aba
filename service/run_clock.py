"""A run's execution timed stage by stage: Prometheus durations and OpenTelemetry spans.

`service.jobs` tells the clock each stage as the run reports it ("reading uploads", the
engine's stages, "storing hits"); a stage ends when the next one starts. The clock puts
each stage's duration into `fieldlink_run_stage_seconds{stage}`, and, when tracing is on,
a span per stage under one span for the run. Stage names are the hub's and the engine's
own; the engine's family stages carry a parenthesised label, which is cut off, so the
metric has a handful of label values whatever the data.
"""

import time
import uuid
from typing import TYPE_CHECKING

from service.metrics import HubMetrics
from service.tracing import Tracing

if TYPE_CHECKING:
    from opentelemetry.trace import Span


def stage_label(stage: str) -> str:
    """The stage's kind: "comparing (salt family 1 of 2: ...)" is "comparing"."""
    return stage.split(" (", 1)[0]


class RunClock:
    """Times one execution (attempt) of a run."""

    def __init__(
        self, run_id: uuid.UUID, attempt: int, *, metrics: HubMetrics | None, tracing: Tracing
    ) -> None:
        self.metrics, self.tracing = metrics, tracing
        self.started = time.perf_counter()
        self.span = tracing.start(
            "run", {"fieldlink.run_id": str(run_id), "fieldlink.attempt": attempt}
        )
        self.stage_name = ""
        self.stage_started = self.started
        self.stage_span: Span | None = None

    def __repr__(self) -> str:
        return f"RunClock(stage={self.stage_name!r})"

    def stage(self, stage: str) -> None:
        """The run is in `stage` now (the same stage again changes nothing)."""
        name = stage_label(stage)
        if name == self.stage_name:
            return
        self._end_stage()
        self.stage_name, self.stage_started = name, time.perf_counter()
        self.stage_span = self.tracing.start(
            f"run stage: {name}", {"fieldlink.stage": name}, parent=self.span
        )

    def finish(self, outcome: str) -> None:
        """The execution ended: "succeeded", "failed" or "lost" (another attempt took over)."""
        self._end_stage()
        self.stage_name = ""
        if self.metrics is not None:
            self.metrics.runs.labels(outcome).inc()
            self.metrics.run_seconds.observe(time.perf_counter() - self.started)
        self.tracing.end(self.span, {"fieldlink.outcome": outcome})

    def _end_stage(self) -> None:
        if not self.stage_name:
            return
        if self.metrics is not None:
            seconds = time.perf_counter() - self.stage_started
            self.metrics.stage_seconds.labels(self.stage_name).observe(seconds)
        self.tracing.end(self.stage_span)
        self.stage_span = None
