"""The external SIP device (DESIGN.md §2): config, access policy, call records, the Call API for apps,
built-in YAML flows, take-back (REFER until the terminal NOTIFY), health (OPTIONS/HTTP) and the server.

An app is a coroutine taking a :class:`Call` (DESIGN.md §3)::

    async def handle(call: takeback.device.Call) -> None:
        await call.answer()
        await call.play("Please enter your account number.")
        digits = await call.collect(max_digits=8, timeout=10, terminator="#")
        result = await call.take_back("+33456456456", uui=f"{call.conversation_id}|{digits}")
        if not result.success:
            await call.hangup()

and is named in device.yaml as ``app: {module: "mypackage.app:handle"}``.
"""

from .call import Call, TransferResult
from .config import DeviceConfig, builtin_device_config, load_device_config, parse_device_config
from .errors import CallEnded, CallStateError, DeviceError
from .server import DeviceServer
from .validation import ConfigError

__all__ = [
    "Call",
    "CallEnded",
    "CallStateError",
    "ConfigError",
    "DeviceConfig",
    "DeviceError",
    "DeviceServer",
    "TransferResult",
    "builtin_device_config",
    "load_device_config",
    "parse_device_config",
]
