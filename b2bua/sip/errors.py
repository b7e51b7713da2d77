"""Errors of the SIP core.

`LocalProtocolError` means our own code misused the API (a bug to fix here); `RemoteProtocolError`
means a peer sent something we cannot accept. The latter carries the status code that the reply
should have, and the reason phrase that reply uses names the fault, e.g. ``Missing Call-ID``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b2bua.sip.message import Request, Response


class SipError(Exception):
    """Base class of every error the SIP core raises."""


class LocalProtocolError(SipError):
    """The caller asked for something the protocol or the API does not allow."""


class RemoteProtocolError(SipError):
    """A peer sent bad data.

    `reason` is a short phrase naming the fault, fit for a reason phrase. `status_hint` is the
    status of the reply (400 unless told). When the parser got far enough, `message` holds what
    was read of the faulty message, so that a reply can still be addressed.
    """

    def __init__(
        self,
        reason: str,
        status_hint: int = 400,
        *,
        message: Request | Response | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_hint = status_hint
        self.message = message

    def __repr__(self) -> str:
        return f"RemoteProtocolError({self.reason!r}, {self.status_hint})"
