"""Hub settings, read from FIELDLINK_* environment variables."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings. Nothing here shapes the API contract (see service.main)."""

    model_config = SettingsConfigDict(env_prefix="FIELDLINK_")

    database_url: SecretStr = SecretStr("sqlite:///./hub.db")  # may hold a password
    # Encrypted batches and the hub's own keys (service.hub_keys) live under this folder.
    data_dir: Path = Path("./hub-data")
    # Sealed batch files go to this S3-compatible bucket when set, else under data_dir
    # (service.objects). Credentials: the two keys below, or when unset boto3's own chain
    # (AWS_* variables, a web identity or instance role). The bucket must exist.
    s3_bucket: str = ""
    s3_endpoint_url: str = ""  # "": AWS S3 in s3_region; MinIO e.g. "http://minio:9000"
    s3_region: str = ""
    s3_prefix: str = ""  # put before every key, so several hubs may share one bucket
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_part_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)  # multipart parts
    # With the shipped salted schema and sealed envelopes a record takes about 2.5 kB (a
    # million records 2.5 GB). Bodies are streamed to a spool file, never held in memory;
    # the upload checks read the spool in passes, holding its references and a few bytes a
    # record, not its encodings (service.upload_scan).
    max_upload_bytes: int = 4 * 1024 * 1024 * 1024
    log_level: Literal["DEBUG", "INFO", "WARNING"] = "INFO"
    # OpenTelemetry traces (service.tracing; needs fieldlink[telemetry]): "" none; "otlp" to
    # the collector the OTEL_EXPORTER_OTLP_* variables name; "console" to stdout.
    traces_exporter: Literal["", "otlp", "console"] = ""
    # Matching runs: "" runs them in this process; "tcp://host:8786" on a Dask cluster.
    dask_scheduler: str = ""
    run_workers: int = 1  # runs executed at the same time in this process (0: none here)
    # A run reads each upload's comparison words; an upload of more records than this keeps
    # them on disk, sealed under a key only the run holds, and the run reads back one salt
    # family at a time (linkage.spill). "" spill_dir: the system's temporary folder.
    spill_over_records: int = Field(default=1_000_000, ge=0)
    spill_dir: str = ""
    # Tests and debugging only: execute a run in the request that queues it, in its thread
    # (the request answers when the run is done). Test databases share one connection.
    run_inline: bool = False
    # The hub's active storage and signing keys (64 hex digits), when they come from the
    # environment rather than from files under data_dir (service.hub_keys).
    storage_key: SecretStr | None = None
    signing_key: SecretStr | None = None
    # The audit chain's head is signed after this many entries (and on every export).
    audit_checkpoint_every: int = 1000
    # Resource limits (service.limits). JSON bodies are read into memory, so they are small;
    # batch uploads stream to disk under max_upload_bytes instead.
    max_json_bytes: int = 1024 * 1024
    # Requests per minute, as token buckets (a full minute's worth may come at once); 0: no
    # limit. Kept in this process's memory: one hub process, or a limit per process.
    rate_per_address: int = 6000
    rate_per_principal: int = 1200
    # Failed authentications an address may make within auth_failure_window_s; past them it
    # waits 1 s, then 2 s, 4 s ... up to auth_backoff_max_s before the next try (429).
    auth_failures_allowed: int = 30
    auth_failure_window_s: float = 900.0
    auth_backoff_max_s: float = 300.0
    # Runs queued or running in one project at a time; one more is refused (429).
    max_active_runs_per_project: int = 4
    # Retention (service.retention): each hub process purges, at start-up and then every
    # purge_interval_s seconds (0: never; purge by hand with `fieldlink admin purge`), the
    # projects whose expiry passed more than purge_grace_days ago. Until then auditors may
    # read what is left.
    purge_interval_s: float = 3600.0
    purge_grace_days: float = 7.0
    # Sealed batch objects no upload references (a replace or delete killed between its
    # commit and the object's removal) go at start-up and with each purge sweep, once older
    # than this: a younger one may be an upload sealed but not yet committed (service.orphans).
    orphan_grace_s: float = Field(default=3600.0, ge=0)
    # Web pages (service.web.sessions): a signed-in browser is signed out after this many
    # minutes without a page view, and this many hours after signing in, whichever is first.
    web_session_idle_minutes: int = 30
    web_session_hours: int = 12
