"""Sans-IO SIP: messages, URIs, typed headers, Digest, transactions, dialogs and REFER subscriptions.

Nothing in this package touches a socket, a clock or an event loop: bytes and events go in, bytes and
events come out, and the current time is always an argument.
"""

from .errors import SipError, SipParseError, TransactionError
from .headers import CSeq, MediaType, NameAddr, ParamValue, Via, parse_name_addr, parse_via
from .message import Headers, Message, Request, Response
from .parser import StreamParser, parse_message
from .uri import AbsoluteUri, SipUri, TelUri, Uri, parse_uri

__all__ = [
    "AbsoluteUri",
    "CSeq",
    "Headers",
    "MediaType",
    "Message",
    "NameAddr",
    "ParamValue",
    "Request",
    "Response",
    "SipError",
    "SipParseError",
    "SipUri",
    "StreamParser",
    "TelUri",
    "TransactionError",
    "Uri",
    "Via",
    "parse_message",
    "parse_name_addr",
    "parse_uri",
    "parse_via",
]
