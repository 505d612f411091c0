from typing import ClassVar

from pydantic import Field, SecretStr

from eoc_shared.settings import ServiceSettings


class FinanceSettings(ServiceSettings):
    service_name: ClassVar[str] = "finance"
    prefix: ClassVar[str] = "/finance"

    # Where the board paper reads follow-up sustainability (GET {outcomes_url}/outcomes/summary).
    # All-in-one: the platform's own origin; distributed: the gateway or outcomes-svc's address
    # (EOC_FINANCE_OUTCOMES_URL).
    outcomes_url: str = "http://127.0.0.1:8000"
    # How long the board paper waits for outcomes-svc before printing "not available".
    outcomes_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    # The service's own credentials towards outcomes-svc, first that is set wins:
    #  1. a static bearer token issued by the identity provider (EOC_FINANCE_OUTCOMES_TOKEN);
    #  2. OAuth 2 client credentials (EOC_FINANCE_OUTCOMES_TOKEN_URL, _CLIENT_ID, _CLIENT_SECRET, _SCOPE);
    #  3. outside production only: a token signed with the development key in the data dir, if present,
    #     with the role `outcomes_token_role` (board_member: aggregate figures only).
    outcomes_token: SecretStr | None = None
    outcomes_token_url: str | None = None
    outcomes_client_id: str | None = None
    outcomes_client_secret: SecretStr | None = None
    outcomes_token_scope: str | None = None
    outcomes_token_role: str = "board_member"

    # Years shown in the board paper's trend charts (the paper's year and the ones before it).
    board_report_years: int = Field(default=5, ge=1, le=20)
