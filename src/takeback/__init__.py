"""takeback — Genesys Cloud BYOC transfer to an external SIP device, and take back with SIP REFER.

The package is layered; imports point downward only::

    sip / sdp / uui / rtp     sans-IO protocol logic (bytes and events in, bytes and events out)
    net / media               thin asyncio runtimes driving the sans-IO cores
    device / cloud            the external SIP device and the Genesys Cloud emulator
    provision / cli           provisioning as code and the command line
"""

__version__ = "0.1.0"
