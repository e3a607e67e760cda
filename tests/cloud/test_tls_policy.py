"""``takeback.cloud.tls_policy``: the RC-TLS suite list as OpenSSL sees it, and the failure reasons.

The handshakes themselves (RSA vs ECDSA device, suites and curves refused) are in ``test_tls.py``.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest

from takeback.cloud.tls_policy import (
    CIPHER_MODES,
    GENESYS_CIPHER_SUITES,
    GENESYS_CIPHERS,
    GENESYS_DEPRECATED_SUITES,
    RSA_ONLY,
    cipher_settings,
    handshake_failure_reason,
    uses_genesys_suites,
)
from takeback.net.tls import TlsConfig

#: RFC 5246 / RFC 5289 / RFC 8422 code points of the RC-TLS suites.
IANA_CODES = {
    "TLS_RSA_WITH_AES_256_CBC_SHA": 0x0035,
    "TLS_RSA_WITH_AES_256_CBC_SHA256": 0x003D,
    "TLS_RSA_WITH_AES_128_GCM_SHA256": 0x009C,
    "TLS_RSA_WITH_AES_256_GCM_SHA384": 0x009D,
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": 0xC014,
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384": 0xC028,
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xC02F,
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": 0xC030,
}


def test_openssl_names_are_the_rc_suites() -> None:
    """Every OpenSSL name selects exactly the IANA suite it stands for; none is silently dropped."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.set_ciphers(GENESYS_CIPHERS)
    selected = {c["name"]: c["id"] & 0xFFFF for c in context.get_ciphers() if c["protocol"] != "TLSv1.3"}
    assert selected == {GENESYS_CIPHER_SUITES[iana]: code for iana, code in IANA_CODES.items()}
    assert set(GENESYS_CIPHER_SUITES) > GENESYS_DEPRECATED_SUITES


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_openssl_stdname_agrees() -> None:
    out = subprocess.run(
        ["openssl", "ciphers", "-stdname", GENESYS_CIPHERS],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    pairs = {line.split(" - ")[0].strip(): line.split(" - ")[1].split()[0] for line in out.splitlines()}
    assert {iana: pairs[iana] for iana in GENESYS_CIPHER_SUITES} == GENESYS_CIPHER_SUITES


def test_cipher_modes() -> None:
    assert CIPHER_MODES == ("genesys", "default")
    assert cipher_settings("genesys") == (GENESYS_CIPHERS, "secp384r1")
    assert cipher_settings("default") == (None, None)
    with pytest.raises(ValueError, match="not one of genesys, default"):
        cipher_settings("modern")  # type: ignore[arg-type]
    assert uses_genesys_suites(TlsConfig(ciphers=GENESYS_CIPHERS))
    assert not uses_genesys_suites(TlsConfig()) and not uses_genesys_suites(None)


def _alert() -> ssl.SSLError:
    error = ssl.SSLError(1, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure")
    error.reason = "SSLV3_ALERT_HANDSHAKE_FAILURE"
    return error


def test_reason_names_the_ecdsa_key() -> None:
    expected = f"TLS handshake failed: no shared cipher — the device certificate has an EC key; {RSA_ONLY}"
    assert handshake_failure_reason(_alert(), genesys=True, key_type="EC") == expected
    # an asyncio device drops the connection instead of sending the alert: same diagnosis from the key
    assert handshake_failure_reason(ConnectionResetError(), genesys=True, key_type="EC") == expected


def test_reason_without_the_key() -> None:
    unknown = handshake_failure_reason(_alert(), genesys=True)
    assert unknown == f"TLS handshake failed: no shared cipher — {RSA_ONLY}, ECDHE on secp384r1 only"
    rsa = handshake_failure_reason(ConnectionResetError(), genesys=True, key_type="RSA")
    assert rsa.startswith("TLS handshake failed: the device closed the connection — the device accepts none")
    assert handshake_failure_reason(_alert(), genesys=False, key_type="EC") == (
        "TLS handshake failed: no shared cipher"
    )


def test_reason_of_other_errors() -> None:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    assert handshake_failure_reason(verify, genesys=True) == (
        "TLS handshake failed: the device certificate did not verify (unable to get local issuer certificate)"
    )
    other = ssl.SSLError(1, "wrong version")
    other.reason = "WRONG_VERSION_NUMBER"
    assert handshake_failure_reason(other, genesys=True) == "TLS handshake failed: WRONG_VERSION_NUMBER"
