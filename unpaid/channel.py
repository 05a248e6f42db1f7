"""The channel contract: how messages (e-mail, SMS, messenger, webhook) leave unpaid."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Mapping

from unpaid.connector import Setting
from unpaid.errors import ExitCode, UnpaidError


@dataclass(frozen=True)
class ChannelSpec:
    """A channel type, as registered by a plugin's ``register_channels`` hook.

    ``dedupes`` is True when the channel can drop a repeated message by its ``idempotency_key``
    (a stable Message-ID, an idempotency header): only then is a message whose outcome is unknown
    after a crash sent again.
    """

    name: str
    title: str
    factory: Callable[[str, Mapping[str, Any], Mapping[str, str]], "Channel"]
    settings: tuple[Setting, ...] = ()
    dedupes: bool = False
    #: What address the channel needs: "email", "phone" or "any".
    address: str = "email"


@dataclass(frozen=True)
class Message:
    """One message to one customer about one order."""

    order_id: str
    to: str
    subject: str
    body: str
    idempotency_key: str
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """What the channel says after sending: its own id for the message, if any."""

    channel: str
    message_id: str | None = None
    detail: str | None = None


class Delivery(str, Enum):
    """What a channel knows about one message: it left, it did not, or nobody can tell."""

    SENT = "sent"
    NOT_SENT = "not sent"
    #: The message may have left (an SMTP server went silent after the whole message was sent): sending it
    #: again could reach the customer twice, so it is held for a person unless the channel drops repeats.
    UNKNOWN = "unknown"


class Channel:
    """Base class for channels."""

    spec: ChannelSpec
    name: str

    def send(self, message: Message) -> Receipt:
        """Deliver ``message``; raise :class:`ChannelError` on failure (``outcome`` says whether it may have left)."""
        raise NotImplementedError

    def message_id(self, key: str) -> str | None:
        """The id the message for ledger ``key`` carries, known before sending (what a mail log shows); None
        when the channel has none."""
        return None

    def delivered(self, key: str) -> Delivery:
        """Whether the message for ``key`` left, when the channel can prove it (an outbox file exists);
        ``UNKNOWN`` when it cannot. Used by ``unpaid review resolve --auto``."""
        return Delivery.UNKNOWN

    def close(self) -> None:
        """Release connections; called once by the core."""


class ChannelError(UnpaidError):
    """A message was not sent, or may not have been.

    ``outcome`` is ``NOT_SENT`` (the default: nothing left; ``retryable`` says whether a later try may
    succeed) or ``UNKNOWN`` (the message may have left: never sent again automatically unless the channel
    drops repeats).
    """

    exit_code = ExitCode.FAILED

    def __init__(self, channel: str, message: str, fix: str | None = None, *, retryable: bool = True,
                 outcome: Delivery = Delivery.NOT_SENT):
        super().__init__(f"{channel}: {message}", fix)
        self.channel = channel
        self.retryable = retryable
        self.outcome = outcome
