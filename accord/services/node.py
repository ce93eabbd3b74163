"""The running node: settings, database, clock, id factory, vocabularies, sealing and signing keys, key cache,
sign-in rate limits, bank indexes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from accord.clock import Clock, SystemClock
from accord.errors import Corrupted
from accord.exchange.identity import NodeIdentity
from accord.ids import IdFactory, UlidFactory
from accord.safeguards.apikeys import KeyVerifier
from accord.safeguards.ratelimit import AddressLimiter, SharedLimiter
from accord.safeguards.seal import Sealer, load_or_create_key
from accord.safeguards.signing import SigningKeyFile
from accord.services.indexes import BankIndexes
from accord.settings import Settings
from accord.store.db import Database
from accord.vocab import Vocabularies, load

__all__ = ["Node", "open_node"]


@dataclass
class Node:
    settings: Settings
    db: Database
    sealer: Sealer
    clock: Clock = field(default_factory=SystemClock)
    ids: IdFactory = field(default_factory=UlidFactory)
    vocab: Vocabularies = field(default_factory=load)
    keys: KeyVerifier = field(default_factory=KeyVerifier)
    # the custody checkpoint signing key: its file is created on first use, not when the node opens
    signing: SigningKeyFile = field(init=False)
    # sign-in attempts per client address: in memory, so that refusing a flood writes nothing
    signin_limiter: AddressLimiter = field(init=False)
    # requests to the federation inbox endpoints per sending peer (or client address), counted in the
    # database so that every worker spends one budget; it remembers in memory whom it refused (services.inbox)
    inbox_limiter: SharedLimiter = field(init=False)
    # the PDQ index of each bank matched against, as of a bank version (docs/matching.md)
    bank_indexes: BankIndexes = field(init=False)
    # the node's federation identity (docs/federation.md), loaded or created by ``open_node``
    identity: NodeIdentity | None = None
    # how peers are reached: None is the network; tests hand in httpx.ASGITransport(peer_app)
    peer_transport: httpx.AsyncBaseTransport | None = None

    def __post_init__(self) -> None:
        self.signing = SigningKeyFile(self.settings.signing_key_file)
        self.signin_limiter = AddressLimiter(
            self.settings.signin_rate_limit, timedelta(seconds=self.settings.signin_rate_window_s)
        )
        self.inbox_limiter = SharedLimiter(
            self.settings.federation_rate_limit, timedelta(seconds=self.settings.federation_rate_window_s)
        )
        self.bank_indexes = BankIndexes(self.settings.data_dir / "indexes", self.settings.index_snapshot_changes)

    @property
    def me(self) -> NodeIdentity:
        """The node's identity (``open_node`` loads it; a Node built by hand for a test may have none)."""
        if self.identity is None:
            raise RuntimeError("this node was opened without its identity")
        return self.identity

    def close(self) -> None:
        self.db.dispose()


def open_node(
    settings: Settings,
    *,
    clock: Clock | None = None,
    ids: IdFactory | None = None,
    schema: str | None = None,
    keys: KeyVerifier | None = None,
    peer_transport: httpx.AsyncBaseTransport | None = None,
) -> Node:
    clock = clock or SystemClock()
    try:
        identity = NodeIdentity.load_or_create(settings.identity_dir, clock.now())
    except ValueError as e:  # a key without its document, a document without its key: never a new identity
        raise Corrupted(f"node identity in {settings.identity_dir}: {e}") from None
    db = Database(settings.database_url, schema=schema)
    sealer = Sealer(load_or_create_key(settings.seal_key_file))
    return Node(
        settings=settings,
        db=db,
        sealer=sealer,
        clock=clock,
        ids=ids or UlidFactory(),
        keys=keys or KeyVerifier(),
        identity=identity,
        peer_transport=peer_transport,
    )
