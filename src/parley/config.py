"""All settings in one place: environment variables with the PARLEY_ prefix (nested with `__`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LimitSettings(BaseModel):
    max_json_bytes: int = 64 * 1024
    max_media_bytes: int = 16 * 1024 * 1024
    text_max_chars: int = 4096
    group_max_members: int = 1024
    edit_window_s: int = 15 * 60


class OtpSettings(BaseModel):
    ttl_s: int = 600
    max_attempts: int = 5
    resend_interval_s: int = 30
    max_per_hour: int = 5


class SqliteSettings(BaseModel):
    # FULL: a commit reaches the disk before the 200 (group commit pays the fsync once per batch).
    synchronous: str = Field(default="FULL", pattern="^(OFF|NORMAL|FULL|EXTRA)$")
    max_batch: int = 256


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Path("./var")
    database_url: str = ""  # empty: SQLite file under data_dir
    redis_url: str | None = None
    media_dir: Path | None = None
    public_url: str = "http://127.0.0.1:8080"
    dev_show_codes: bool = False
    # Keys one-time-code hashes; every process of one deployment needs the same (default: ./var/secret.key).
    secret_key: str = ""
    log_level: str = "info"
    limits: LimitSettings = LimitSettings()
    otp: OtpSettings = OtpSettings()
    sqlite: SqliteSettings = SqliteSettings()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'parley.db'}"

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir or self.data_dir / "media"
