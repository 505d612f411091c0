"""Settings on pydantic-settings: a service's own prefix first (EOC_REFERRAL_…), then the platform's (EOC_…)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

DEV_ISSUER = "eoc-dev"

# The hops of POST /referrals → decision visible: eligibility-svc reads referral.created/.updated, referral-svc reads
# eligibility.decided. Only these two consumers fetch with a short wait; finance and outcomes read referral.created
# too, but nothing waits on them, and every consumer that fetches often costs idle CPU in it and in the broker
# (measured in docs/performance.md). Even these two keep the short wait only while their topics are busy
# (consumer_short_wait_seconds); at rest they wait as long as the others.
DECISION_PATH_FETCH_WAIT_MS: dict[str, dict[str, int]] = {
    "eligibility": {"referral.created": 10, "referral.updated": 10},
    "referral": {"eligibility.decided": 10},
}


class ServiceSettings(BaseSettings):
    """What every service needs; each service subclasses it with its own `service_name` and env prefix."""

    model_config = SettingsConfigDict(extra="ignore")
    service_name: ClassVar[str] = "service"
    prefix: ClassVar[str] = "/"

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    kafka_bootstrap: str = "127.0.0.1:9092"
    jwt_issuer: str = DEV_ISSUER
    jwt_audience: str = "eoc"
    jwks_url: str | None = None
    jwt_public_key_file: Path | None = None
    outbox_poll_seconds: float = 0.5
    consumer_max_attempts: int = 3
    consumer_backoff_seconds: float = 0.2
    consumer_fetch_wait_ms: int = 100
    # Tansu answers a fetch only when its wait expires, so a hop waits up to this long. The consumers on the
    # referral → decision path wait less (DECISION_PATH_FETCH_WAIT_MS, unless EOC_CONSUMER_FETCH_WAIT_MS_BY_TOPIC=
    # '{"topic": ms}' is set); see docs/performance.md.
    consumer_fetch_wait_ms_by_topic: dict[str, int] = {}
    # Those shorter waits hold from the join and for this long after each record of their topics; at rest the
    # consumer waits consumer_fetch_wait_ms, so the first event after a quiet spell may wait that long.
    consumer_short_wait_seconds: float = 5.0
    # Replicas of one service share a consumer group; separate deployments (or test instances) must not.
    consumer_group_suffix: str = ""
    run_consumers: bool = True
    # Published outbox rows are kept this long and replayed to a new broker instance (Kafka's default: 7 days).
    outbox_retention_days: float = 7.0
    outbox_prune_seconds: float = 300.0
    broker_check_seconds: float = 1.0
    # One group join per service; short heartbeats make the join (and a rejoin after a broker restart) quick.
    consumer_heartbeat_ms: int = 100
    # Tansu holds a join for about half the session timeout (measured: 10 s → 5 s, 2 s → 1 s).
    consumer_session_timeout_ms: int = 2000
    consumer_rebalance_timeout_ms: int = 2000
    # A static bearer secret a Prometheus scraper may present on /metrics (and nowhere else); unset: ops tokens only.
    metrics_token: str | None = None
    log_level: str = "INFO"
    log_json: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        own = EnvSettingsSource(settings_cls, env_prefix=f"EOC_{cls.service_name.upper()}_")
        platform = EnvSettingsSource(settings_cls, env_prefix="EOC_")
        return (init_settings, own, platform, file_secret_settings)

    @model_validator(mode="after")
    def _decision_path_waits_less(self) -> ServiceSettings:
        if "consumer_fetch_wait_ms_by_topic" not in self.model_fields_set:
            self.consumer_fetch_wait_ms_by_topic = dict(DECISION_PATH_FETCH_WAIT_MS.get(self.service_name, {}))
        return self

    @model_validator(mode="after")
    def _refuse_development_key_in_production(self) -> ServiceSettings:
        if self.env == "production":
            if self.jwks_url is None or self.jwt_issuer == DEV_ISSUER:
                raise ValueError(
                    "EOC_ENV=production refuses the development signing key: set EOC_JWKS_URL and "
                    "EOC_JWT_ISSUER to the authority's identity provider"
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service_name}.sqlite3').resolve()}"

    @property
    def resolved_public_key_file(self) -> Path:
        return self.jwt_public_key_file or self.data_dir / "keys" / "dev-signing.pub.pem"
