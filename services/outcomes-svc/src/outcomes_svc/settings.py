from typing import ClassVar

from pydantic import Field

from eoc_shared.settings import ServiceSettings


class OutcomesSettings(ServiceSettings):
    service_name: ClassVar[str] = "outcomes"
    prefix: ClassVar[str] = "/outcomes"

    # How often the follow-up scheduler runs in the background, as of today
    # (EOC_OUTCOMES_SCHEDULER_INTERVAL_SECONDS); 0 turns the background job off
    # (ops can still run it with POST /outcomes/scheduler/run).
    scheduler_interval_seconds: float = Field(default=3600.0, ge=0)
    # Follow-ups claimed per transaction by one scheduler run (EOC_OUTCOMES_SCHEDULER_BATCH_SIZE).
    scheduler_batch_size: int = Field(default=5000, ge=1, le=20_000)
