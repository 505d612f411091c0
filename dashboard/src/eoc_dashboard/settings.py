"""Dashboard settings: EOC_DASHBOARD_… first, then the platform's EOC_… (as every service reads them)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

ASSETS = Path(__file__).resolve().parents[2] / "node_modules" / "govuk-frontend" / "dist" / "govuk"


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    # Where the public APIs answer (the gateway). None: the platform passes its own app in (all-in-one).
    api_url: str | None = None
    jwt_issuer: str = "eoc-dev"
    jwt_audience: str = "eoc"
    # OpenID Connect (production): the authority's identity provider and this client's registration.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_redirect_url: str | None = None
    oidc_scope: str = "openid profile"
    # Signs the session cookie; a random one per process when unset (sign-ins end at a restart).
    session_secret: str | None = None
    session_minutes: int = 60
    secure_cookies: bool = False
    assets_dir: Path = ASSETS

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        own = EnvSettingsSource(settings_cls, env_prefix="EOC_DASHBOARD_")
        platform = EnvSettingsSource(settings_cls, env_prefix="EOC_")
        return (init_settings, own, platform, file_secret_settings)

    @property
    def development_sign_in(self) -> bool:
        """Picking a role is for development only; production signs in at the identity provider."""
        return self.env != "production"

    @model_validator(mode="after")
    def _production_needs_oidc(self) -> DashboardSettings:
        if self.env == "production" and not (self.oidc_issuer and self.oidc_client_id and self.session_secret):
            raise ValueError("EOC_ENV=production needs EOC_DASHBOARD_OIDC_ISSUER, EOC_DASHBOARD_OIDC_CLIENT_ID and "
                             "EOC_DASHBOARD_SESSION_SECRET: the development sign-in is refused there")
        return self
