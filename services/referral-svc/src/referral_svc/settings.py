from typing import ClassVar

from eoc_shared.settings import ServiceSettings


class ReferralSettings(ServiceSettings):
    service_name: ClassVar[str] = "referral"
    prefix: ClassVar[str] = "/referrals"
