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


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configured channel: the key, what is wrong, the fix and what it means
    for the exit code (2: a setting to change; 3: the server cannot be reached or refused the login)."""

    channel: str
    key: str | None
    message: str
    fix: str
    exit_code: ExitCode = ExitCode.USAGE

    @property
    def where(self) -> str:
        return f"[channels.{self.channel}]" + (f" {self.key}" if self.key else "")

    def __str__(self) -> str:
        return f"{self.where}: {self.message} — {self.fix}"

    def error(self) -> UnpaidError:
        return UnpaidError(f"{self.where}: {self.message}", self.fix, exit_code=self.exit_code)


class Channel:
    """Base class for channels."""

    spec: ChannelSpec
    name: str

    def check(self, online: bool = False) -> list[Problem]:
        """What is wrong with the settings (types, known values, a usable folder), without sending anything;
        with ``online`` also whether the server answers (connect, TLS, login, quit). Empty when all is well.
        Called by ``unpaid doctor``, ``playbooks check`` and before a run's first send."""
        return []

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


class ChannelUnavailable(ChannelError):
    """No message can go through the channel now (unreachable, TLS impossible, login refused, bad settings).

    Nothing was sent: a run puts the message back as due, counts no attempt and sends nothing more through
    the channel until a later run. ``exit_code`` is 2 for a setting to fix, 3 for a server that cannot be
    reached or refused the login.
    """

    exit_code = ExitCode.SOURCE

    def __init__(self, channel: str, message: str, fix: str | None = None, *, key: str | None = None,
                 exit_code: ExitCode | None = None):
        super().__init__(channel, message, fix, retryable=True)
        self.key = key  # the setting to look at, for `doctor`
        if exit_code is not None:
            self.exit_code = exit_code
