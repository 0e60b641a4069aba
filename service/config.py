"""Hub settings, read from FIELDLINK_* environment variables."""

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings. Nothing here shapes the API contract (see service.main)."""

    model_config = SettingsConfigDict(env_prefix="FIELDLINK_")

    database_url: SecretStr = SecretStr("sqlite:///./hub.db")  # may hold a password
    # Encrypted batches and the hub's own keys (service.hub_keys) live under this folder.
    data_dir: Path = Path("./hub-data")
    # A million records with sealed envelopes come to about 325 MB (envelopes about double
    # a batch); bodies are streamed to a spool file, never held in memory.
    max_upload_bytes: int = 1024 * 1024 * 1024
    log_level: Literal["DEBUG", "INFO", "WARNING"] = "INFO"
    # Matching runs: "" runs them in this process; "tcp://host:8786" on a Dask cluster.
    dask_scheduler: str = ""
    run_workers: int = 1  # runs executed at the same time in this process (0: none here)
    # Tests and debugging only: execute a run in the request that queues it, in its thread
    # (the request answers when the run is done). Test databases share one connection.
    run_inline: bool = False
    # The hub's active storage and signing keys (64 hex digits), when they come from the
    # environment rather than from files under data_dir (service.hub_keys).
    storage_key: SecretStr | None = None
    signing_key: SecretStr | None = None
    # The audit chain's head is signed after this many entries (and on every export).
    audit_checkpoint_every: int = 1000
