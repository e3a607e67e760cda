"""Errors an app sees from :class:`takeback.device.Call`."""

from __future__ import annotations

__all__ = ["CallEnded", "CallStateError", "DeviceError"]


class DeviceError(Exception):
    """Base of the device's runtime errors."""


class CallEnded(DeviceError):
    """The call is over (the peer hung up, the call was taken back, or we hung up): nothing more to do.

    ``reason``: the dialog termination reason (``remote-bye``, ``local-bye``, ``no-ack``, ``taken-back``…).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"call ended ({reason})")
        self.reason = reason


class CallStateError(DeviceError):
    """The app asked for something the call's state does not allow (e.g. ``play`` before ``answer``)."""
