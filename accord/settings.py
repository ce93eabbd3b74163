"""Node configuration, read from ``ACCORD_*`` environment variables with safe embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("accord-data")
    database_url: str = ""
    max_body_bytes: int = 1 << 20
    max_bulk_bytes: int = 1 << 30
    # expanded size of one imported file (compressed files count unpacked: a zip bomb stops here)
    max_import_bytes: int = 16 << 30
    # one document-shaped import (STIX bundle, JSON-LD graph, XML report) is parsed whole
    max_document_bytes: int = 256 << 20
    # reports per bulk transaction: every batch rewrites the pages of the random-key indexes it touches
    # (links by observable, observables by key hash, reports by external id, leaves by hash), scattered
    # over each index, so fewer, larger batches write less: at 100,000 reports 5,000 wrote 27% less than
    # 2,000 (1,217 against 1,672 MiB) for 7-9% less CPU, 10,000 41% less (docs/benchmarks.md, "Bulk
    # intake levers"). Larger batches hold SQLite's one write lock longer (about 1.4 s a batch at 5,000 on
    # a quiet machine) and keep one batch in memory (peak RSS 282-288 against 275 MiB)
    bulk_batch_size: int = 5000
    page_size_max: int = 500
    seal_key_file: Path = field(default=Path())
    # the Ed25519 key that signs custody checkpoints (docs/custody.md); created on first use
    signing_key_file: Path = field(default=Path())
    # the node's federation identity (docs/federation.md): identity.key (private, 0600) and identity.json
    # (the public document) in this directory; created when the node first opens
    identity_dir: Path = field(default=Path())
    # seconds an envelope's created time may lie before or after this node's clock
    federation_skew_s: int = 300
    # seconds a peer is given to answer an envelope
    federation_timeout_s: float = 30.0
    # sync (docs/federation.md, "Sync"): the most feed items one batch envelope carries, and the longest
    # wait between tries after a peer failed (the wait doubles from 5 s per failure, with jitter)
    sync_batch: int = 500
    sync_backoff_max_s: float = 3600.0
    # deconfliction queries (PSI runs) per peer and day, counted apart for those this node starts and those
    # it answers (docs/federation.md): a PSI of one item is a probe, so the rate is what bounds probing
    deconfliction_daily_limit: int = 20
    # the most sessions one peer may hold open here at once (the responder's state between messages,
    # kept in the database for 10 minutes each): an offer beyond it is refused with reason rate-limit
    deconfliction_open_sessions: int = 20
    # cross-border requests (docs/federation.md, "Requests"): a preservation request's default and least
    # period (Budapest Convention Art. 29: at least 60 days), an urgent disclosure's default period, and how
    # long before a deadline a request still open is escalated (audited, listed by `accord request tick`)
    request_preservation_days: int = 90
    request_preservation_min_days: int = 60
    request_urgent_hours: int = 24
    request_warning_hours: int = 48
    # requests one sending peer (an unknown sender: one client address) may make to the federation inbox
    # endpoints together (envelopes, feed, receipts, deconfliction) per window; in memory, per worker
    federation_rate_limit: int = 600
    federation_rate_window_s: int = 60
    # people's sign-in (docs/sign-in.md): CJIS-style defaults, 5 failures in 15 minutes lock for 10
    signin_max_failures: int = 5
    signin_failure_window_s: int = 900
    signin_lockout_s: int = 600
    session_idle_s: int = 1800
    session_lifetime_s: int = 12 * 3600
    totp_issuer: str = "Accord"
    # sign-in attempts one client address may make per window, whoever it names (in-process, per worker)
    signin_rate_limit: int = 20
    signin_rate_window_s: int = 60
    # distinct custodians' signed approvals an opening of sealed data needs (k of the registered n)
    unseal_approvals: int = 2
    # hours within which a custodian must review a supervisor's emergency disclosure
    emergency_review_hours: int = 48
    # how often the server purges expired data (docs/retention.md); 0 leaves it to `accord retention run`
    retention_interval_s: int = 3600
    # reports purged per transaction: a crash leaves whole batches only
    retention_batch_size: int = 500
    # the Hamming distance (of 256 bits) a new PDQ bank matches within unless it sets its own (docs/matching.md)
    pdq_threshold: int = 31
    # a bank's PDQ index is written under data_dir/indexes after this many changes since the last snapshot,
    # so a restarted node loads it and catches up instead of rebuilding
    index_snapshot_changes: int = 10_000

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'accord.db'}")
        if self.seal_key_file == Path():
            object.__setattr__(self, "seal_key_file", self.data_dir / "keys" / "seal.key")
        if self.signing_key_file == Path():
            object.__setattr__(self, "signing_key_file", self.data_dir / "keys" / "signing.key")
        if self.identity_dir == Path():
            object.__setattr__(self, "identity_dir", self.data_dir / "keys")
        if self.federation_skew_s < 1:
            raise ValueError("ACCORD_FEDERATION_SKEW_SECONDS must be at least 1")
        if self.federation_timeout_s <= 0:
            raise ValueError("ACCORD_FEDERATION_TIMEOUT_SECONDS must be more than 0")
        if not 1 <= self.sync_batch <= 5000:
            raise ValueError("ACCORD_SYNC_BATCH must be 1 to 5000")
        if self.sync_backoff_max_s < 5:
            raise ValueError("ACCORD_SYNC_BACKOFF_MAX_SECONDS must be at least 5")
        if self.deconfliction_daily_limit < 1:
            raise ValueError("ACCORD_DECONFLICTION_DAILY_LIMIT must be at least 1")
        if self.deconfliction_open_sessions < 1:
            raise ValueError("ACCORD_DECONFLICTION_OPEN_SESSIONS must be at least 1")
        if not 60 <= self.request_preservation_min_days <= self.request_preservation_days:
            raise ValueError(
                "ACCORD_REQUEST_PRESERVATION_MIN_DAYS must be at least 60 (Budapest Convention Art. 29) and "
                "ACCORD_REQUEST_PRESERVATION_DAYS at least that"
            )
        if self.request_urgent_hours < 1 or self.request_warning_hours < 1:
            raise ValueError("ACCORD_REQUEST_URGENT_HOURS and ACCORD_REQUEST_WARNING_HOURS must be at least 1")
        if self.federation_rate_limit < 1 or self.federation_rate_window_s < 1:
            raise ValueError(
                "ACCORD_FEDERATION_RATE_LIMIT and ACCORD_FEDERATION_RATE_WINDOW_SECONDS must be at least 1"
            )
        if self.signin_rate_limit < 1 or self.signin_rate_window_s < 1:
            raise ValueError("ACCORD_SIGNIN_RATE_LIMIT and ACCORD_SIGNIN_RATE_WINDOW_SECONDS must be at least 1")
        if self.unseal_approvals < 1:
            raise ValueError("ACCORD_UNSEAL_APPROVALS must be at least 1")
        if self.emergency_review_hours < 1:
            raise ValueError("ACCORD_EMERGENCY_REVIEW_HOURS must be at least 1")
        if self.retention_interval_s < 0:
            raise ValueError("ACCORD_RETENTION_INTERVAL_SECONDS must be 0 (off) or more")
        if self.retention_batch_size < 1:
            raise ValueError("ACCORD_RETENTION_BATCH_SIZE must be at least 1")
        if not 0 <= self.pdq_threshold <= 256:
            raise ValueError("ACCORD_PDQ_THRESHOLD must be between 0 and 256")
        if self.index_snapshot_changes < 1:
            raise ValueError("ACCORD_INDEX_SNAPSHOT_CHANGES must be at least 1")

    @classmethod
    def from_env(
        cls, env: dict[str, str] | None = None, *, data_dir: Path | None = None, database_url: str | None = None
    ) -> Settings:
        """Settings from the environment; explicit arguments (command-line options) win over it."""
        env = dict(os.environ) if env is None else env
        return cls(
            data_dir=data_dir or Path(env.get("ACCORD_DATA_DIR", "accord-data")),
            database_url=database_url or env.get("ACCORD_DATABASE_URL", ""),
            max_body_bytes=int(env.get("ACCORD_MAX_BODY_BYTES", 1 << 20)),
            max_bulk_bytes=int(env.get("ACCORD_MAX_BULK_BYTES", 1 << 30)),
            max_import_bytes=int(env.get("ACCORD_MAX_IMPORT_BYTES", 16 << 30)),
            max_document_bytes=int(env.get("ACCORD_MAX_DOCUMENT_BYTES", 256 << 20)),
            bulk_batch_size=int(env.get("ACCORD_BULK_BATCH_SIZE", 5000)),
            seal_key_file=Path(env.get("ACCORD_SEAL_KEY_FILE", "")),
            signing_key_file=Path(env.get("ACCORD_SIGNING_KEY_FILE", "")),
            identity_dir=Path(env.get("ACCORD_IDENTITY_DIR", "")),
            federation_skew_s=int(env.get("ACCORD_FEDERATION_SKEW_SECONDS", 300)),
            federation_timeout_s=float(env.get("ACCORD_FEDERATION_TIMEOUT_SECONDS", 30.0)),
            sync_batch=int(env.get("ACCORD_SYNC_BATCH", 500)),
            sync_backoff_max_s=float(env.get("ACCORD_SYNC_BACKOFF_MAX_SECONDS", 3600.0)),
            deconfliction_daily_limit=int(env.get("ACCORD_DECONFLICTION_DAILY_LIMIT", 20)),
            deconfliction_open_sessions=int(env.get("ACCORD_DECONFLICTION_OPEN_SESSIONS", 20)),
            request_preservation_days=int(env.get("ACCORD_REQUEST_PRESERVATION_DAYS", 90)),
            request_preservation_min_days=int(env.get("ACCORD_REQUEST_PRESERVATION_MIN_DAYS", 60)),
            request_urgent_hours=int(env.get("ACCORD_REQUEST_URGENT_HOURS", 24)),
            request_warning_hours=int(env.get("ACCORD_REQUEST_WARNING_HOURS", 48)),
            federation_rate_limit=int(env.get("ACCORD_FEDERATION_RATE_LIMIT", 600)),
            federation_rate_window_s=int(env.get("ACCORD_FEDERATION_RATE_WINDOW_SECONDS", 60)),
            signin_max_failures=int(env.get("ACCORD_SIGNIN_MAX_FAILURES", 5)),
            signin_failure_window_s=int(env.get("ACCORD_SIGNIN_FAILURE_WINDOW_SECONDS", 900)),
            signin_lockout_s=int(env.get("ACCORD_SIGNIN_LOCKOUT_SECONDS", 600)),
            session_idle_s=int(env.get("ACCORD_SESSION_IDLE_SECONDS", 1800)),
            session_lifetime_s=int(env.get("ACCORD_SESSION_LIFETIME_SECONDS", 12 * 3600)),
            totp_issuer=env.get("ACCORD_TOTP_ISSUER", "Accord"),
            signin_rate_limit=int(env.get("ACCORD_SIGNIN_RATE_LIMIT", 20)),
            signin_rate_window_s=int(env.get("ACCORD_SIGNIN_RATE_WINDOW_SECONDS", 60)),
            unseal_approvals=int(env.get("ACCORD_UNSEAL_APPROVALS", 2)),
            emergency_review_hours=int(env.get("ACCORD_EMERGENCY_REVIEW_HOURS", 48)),
            retention_interval_s=int(env.get("ACCORD_RETENTION_INTERVAL_SECONDS", 3600)),
            retention_batch_size=int(env.get("ACCORD_RETENTION_BATCH_SIZE", 500)),
            pdq_threshold=int(env.get("ACCORD_PDQ_THRESHOLD", 31)),
            index_snapshot_changes=int(env.get("ACCORD_INDEX_SNAPSHOT_CHANGES", 10_000)),
        )
