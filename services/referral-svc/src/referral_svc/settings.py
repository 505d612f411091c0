from typing import ClassVar

from pydantic import Field

from eoc_shared.settings import ServiceSettings


class ReferralSettings(ServiceSettings):
    service_name: ClassVar[str] = "referral"
    prefix: ClassVar[str] = "/referrals"

    # How often the consent and assessment timers run in the background (EOC_REFERRAL_TIMERS_INTERVAL_SECONDS);
    # 0 turns the background job off (ops can still run it with POST /referrals/timers/run).
    timers_interval_seconds: float = Field(default=900.0, ge=0)
