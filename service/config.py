"""Hub settings, read from FIELDLINK_* environment variables."""

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings. Nothing here shapes the API contract (see service.main)."""

    model_config = SettingsConfigDict(env_prefix="FIELDLINK_")

    database_url: SecretStr = SecretStr("sqlite:///./hub.db")  # may hold a password
    max_upload_bytes: int = 256 * 1024 * 1024
    log_level: Literal["DEBUG", "INFO", "WARNING"] = "INFO"
