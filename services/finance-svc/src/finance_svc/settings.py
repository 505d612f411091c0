from typing import ClassVar

from eoc_shared.settings import ServiceSettings


class FinanceSettings(ServiceSettings):
    service_name: ClassVar[str] = "finance"
    prefix: ClassVar[str] = "/finance"
