"""How the device's ``media.srtp`` setting shapes its SDP: SDES SRTP for Genesys TLS trunks (GENESYS.md §7).

* ``optional`` (default): an RTP/SAVP offer with a usable ``a=crypto`` is answered with our own key and the
  call runs SRTP; a plain RTP/AVP offer gets plain RTP. The device's own (late) offers are RTP/AVP.
* ``required``: a plain offer is refused with 488 (RFC 4568 §7.1.2 via :func:`takeback.sdp.negotiate`);
  the device's own offers are RTP/SAVP with ``a=crypto``.
* ``off``: RTP/SAVP offers are refused with 488.

Our master key and salt come from ``os.urandom`` per call (RFC 4568 §6.1 asks for a cryptographically
random key); a re-INVITE keeps the key (``select_crypto(reuse=...)``) so SRTP state survives a hold.
"""

from __future__ import annotations

import os
from typing import Any

from takeback.sdp import SrtpPolicy

__all__ = ["srtp_media_options"]


def srtp_media_options(policy: str) -> dict[str, Any]:
    """Keyword arguments for :class:`takeback.sdp.LocalMedia` from ``media.srtp``."""
    return {"srtp": SrtpPolicy(policy), "key_source": os.urandom}
