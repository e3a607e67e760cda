"""SDP bodies shared by the tests: the Genesys offer of GENESYS.md §10 (1) and real-world shapes."""

from __future__ import annotations


def crlf(*lines: str) -> bytes:
    """A body with every line CRLF-terminated, as RFC 8866 §5 wants it on the wire."""
    return "".join(f"{line}\r\n" for line in lines).encode()


# GENESYS.md §10 (1): the offer in Genesys' INVITE to the device.
GENESYS_OFFER = crlf(
    "v=0",
    "o=- 3912345678 3912345678 IN IP4 52.129.100.7",
    "s=-",
    "c=IN IP4 52.129.100.7",
    "t=0 0",
    "m=audio 20000 RTP/AVP 0 8 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=ptime:20",
    "a=sendrecv",
)

# The same call put on hold by Genesys: re-INVITE to 0.0.0.0 (GENESYS.md §4.4), version + 1.
GENESYS_HOLD = crlf(
    "v=0",
    "o=- 3912345678 3912345679 IN IP4 52.129.100.7",
    "s=-",
    "c=IN IP4 0.0.0.0",
    "t=0 0",
    "m=audio 20000 RTP/AVP 0 8 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=ptime:20",
    "a=sendrecv",
)

# A FreeSWITCH-style offer: Opus with fmtp, G722, CN, bandwidth lines, video and T.38 streams.
SOFTSWITCH_OFFER = crlf(
    "v=0",
    "o=FreeSWITCH 1700000000 1700000001 IN IP4 192.0.2.50",
    "s=FreeSWITCH",
    "c=IN IP4 192.0.2.50",
    "t=0 0",
    "m=audio 16384 RTP/AVP 102 9 0 8 101 13",
    "b=AS:64",
    "b=TIAS:64000",
    "a=rtpmap:102 opus/48000/2",
    "a=fmtp:102 useinbandfec=1; maxplaybackrate=16000; sprop-maxcapturerate=16000; maxaveragebitrate=30000",
    "a=rtpmap:9 G722/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=rtpmap:13 CN/8000",
    "a=ptime:20",
    "a=maxptime:40",
    "m=video 16386 RTP/AVP 96",
    "b=AS:512",
    "a=rtpmap:96 H264/90000",
    "a=fmtp:96 profile-level-id=42e01f;packetization-mode=1",
    "a=sendrecv",
    "m=image 16388 udptl t38",
    "a=T38FaxVersion:0",
    "a=T38MaxBitRate:14400",
    "a=T38FaxRateManagement:transferredTCF",
)

# A browser (WebRTC) offer: ICE, DTLS, BUNDLE, ssrc lines; all of it must survive verbatim.
WEBRTC_OFFER = crlf(
    "v=0",
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "a=extmap-allow-mixed",
    "a=msid-semantic: WMS stream",
    "m=audio 54400 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
    "c=IN IP4 192.0.2.10",
    "a=rtcp:9 IN IP4 0.0.0.0",
    "a=candidate:1467250027 1 udp 2122260223 192.0.2.10 54400 typ host generation 0 network-id 1",
    "a=candidate:435653019 1 tcp 1845501695 198.51.100.7 9 typ srflx raddr 192.0.2.10 rport 9 tcptype active",
    "a=ice-ufrag:EsAw",
    "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1",
    "a=ice-options:trickle",
    "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F",
    "a=setup:actpass",
    "a=mid:0",
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "a=sendrecv",
    "a=msid:stream track",
    "a=rtcp-mux",
    "a=rtpmap:111 opus/48000/2",
    "a=rtcp-fb:111 transport-cc",
    "a=fmtp:111 minptime=10;useinbandfec=1",
    "a=rtpmap:63 red/48000/2",
    "a=fmtp:63 111/111",
    "a=rtpmap:9 G722/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:13 CN/8000",
    "a=rtpmap:110 telephone-event/48000",
    "a=rtpmap:126 telephone-event/8000",
    "a=ssrc:3735928559 cname:4TOk42mSjXCkVIa6",
    "a=ssrc:3735928559 msid:stream track",
)

# An IPv6 offer (RFC 4566 / 8866 style) with a 30 ms ptime.
IPV6_OFFER = crlf(
    "v=0",
    "o=alice 2890844526 2890844526 IN IP6 2001:db8::1",
    "s=Call",
    "c=IN IP6 2001:db8::1",
    "t=0 0",
    "m=audio 49170 RTP/AVP 0 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=ptime:30",
)

# RFC 4566 §5 example: every session-level line type, multicast with TTL, r=, z=, k=.
RFC4566_EXAMPLE = crlf(
    "v=0",
    "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5",
    "s=SDP Seminar",
    "i=A Seminar on the session description protocol",
    "u=http://www.example.com/seminars/sdp.pdf",
    "e=j.doe@example.com (Jane Doe)",
    "p=+1 617 555-6011",
    "c=IN IP4 224.2.17.12/127",
    "b=CT:128",
    "t=2873397496 2873404696",
    "r=7d 1h 0 25h",
    "z=2882844526 -1h 2898848070 0",
    "k=prompt",
    "a=recvonly",
    "m=audio 49170 RTP/AVP 0",
    "i=the voice",
    "m=video 51372 RTP/AVP 99",
    "c=IN IP6 2001:db8::2",
    "a=rtpmap:99 h263-1998/90000",
)

# An SDES (RFC 4568) offer as an SBC in front of a TLS trunk sends it, with lifetime, MKI and two suites.
SDES_OFFER = crlf(
    "v=0",
    "o=sbc 1 1 IN IP4 198.51.100.20",
    "s=-",
    "c=IN IP4 198.51.100.20",
    "t=0 0",
    "m=audio 40000 RTP/SAVP 0 8 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32",
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32",
    "a=sendrecv",
)

ALL_SAMPLES = {
    "genesys": GENESYS_OFFER,
    "genesys-hold": GENESYS_HOLD,
    "softswitch": SOFTSWITCH_OFFER,
    "webrtc": WEBRTC_OFFER,
    "ipv6": IPV6_OFFER,
    "rfc4566": RFC4566_EXAMPLE,
    "sdes": SDES_OFFER,
}
