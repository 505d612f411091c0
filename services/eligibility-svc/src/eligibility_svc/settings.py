from typing import ClassVar

from eoc_shared.settings import ServiceSettings


class EligibilitySettings(ServiceSettings):
    service_name: ClassVar[str] = "eligibility"
    prefix: ClassVar[str] = "/eligibility"
