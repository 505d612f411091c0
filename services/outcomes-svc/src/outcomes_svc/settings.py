from typing import ClassVar

from eoc_shared.settings import ServiceSettings


class OutcomesSettings(ServiceSettings):
    service_name: ClassVar[str] = "outcomes"
    prefix: ClassVar[str] = "/outcomes"
