"""RFC 3261 §17 transaction state machines, as data (h11 ``_state.py`` style).

One table per transaction kind maps ``(state, input) -> (next state, actions)``. Inputs are what happens
to a transaction (a response class arrives, a timer fires, the TU hands over a response); actions are
what the transaction then does, executed in order by :mod:`takeback.sip.transaction`. A pair missing
from a table means "absorb and ignore" for network inputs and "TU misuse" for TU inputs.

The INVITE machines include RFC 6026: the client goes to *Accepted* on a 2xx (Timer M) and keeps handing
2xx retransmissions to the TU; the server goes to *Accepted* after sending a 2xx (Timer L) and absorbs
retransmitted INVITEs instead of making a second call. Timer C (RFC 3261 §16.6, borrowed from proxies)
guards an INVITE client stuck in Proceeding: it asks the core to CANCEL, then Timer B ends it.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "INITIAL",
    "START_TIMER",
    "TABLES",
    "TxAction",
    "TxInput",
    "TxKind",
    "TxState",
]


class TxKind(Enum):
    __hash__ = object.__hash__  # identity hash in C: these key every table lookup

    INVITE_CLIENT = "ICT"
    NON_INVITE_CLIENT = "NICT"
    INVITE_SERVER = "IST"
    NON_INVITE_SERVER = "NIST"


class TxState(Enum):
    __hash__ = object.__hash__  # identity hash in C: these key every table lookup

    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class TxInput(Enum):
    __hash__ = object.__hash__  # identity hash in C: these key every table lookup

    # from the network, client side
    PROVISIONAL = "1xx"
    SUCCESS = "2xx"
    FAILURE = "300-699"
    # from the network, server side
    REQUEST = "request retransmission"
    ACK = "ACK"
    # from the transaction user, server side
    TU_PROVISIONAL = "TU 1xx"
    TU_SUCCESS = "TU 2xx"
    TU_FAILURE = "TU 300-699"
    # from the transport
    TRANSPORT_ERROR = "transport error"
    # timers
    TIMER_A = "A"
    TIMER_B = "B"
    TIMER_C = "C"
    TIMER_D = "D"
    TIMER_E = "E"
    TIMER_F = "F"
    TIMER_G = "G"
    TIMER_H = "H"
    TIMER_I = "I"
    TIMER_J = "J"
    TIMER_K = "K"
    TIMER_L = "L"
    TIMER_M = "M"
    TIMER_TRYING = "100 Trying (200 ms)"


class TxAction(Enum):
    __hash__ = object.__hash__  # identity hash in C: these key every table lookup

    PASS = "pass to TU"
    SEND = "send the TU's response"
    RESEND_RESPONSE = "resend the last response"
    SEND_ACK = "send ACK for the non-2xx"
    SEND_100 = "send 100 Trying"
    RETRANSMIT_A = "retransmit request, double interval (A)"
    RETRANSMIT_E = "retransmit request, double interval up to T2 (E)"
    RETRANSMIT_E_T2 = "retransmit request, interval T2 (E in Proceeding)"
    RETRANSMIT_G = "retransmit response, double interval up to T2 (G)"
    CLEAR_TIMERS = "cancel every running timer"
    TIMEOUT = "report timeout"
    TRANSPORT_FAILED = "report transport failure"
    REQUEST_CANCEL = "ask the core to CANCEL (Timer C)"
    START_A = "start A"
    START_B = "start B"
    START_C = "start C"
    START_D = "start D"
    START_E = "start E"
    START_F = "start F"
    START_G = "start G"
    START_H = "start H"
    START_I = "start I"
    START_J = "start J"
    START_K = "start K"
    START_L = "start L"
    START_M = "start M"
    START_TRYING = "start the 100 Trying timer"


START_TIMER: dict[TxAction, TxInput] = {
    TxAction.START_A: TxInput.TIMER_A,
    TxAction.START_B: TxInput.TIMER_B,
    TxAction.START_C: TxInput.TIMER_C,
    TxAction.START_D: TxInput.TIMER_D,
    TxAction.START_E: TxInput.TIMER_E,
    TxAction.START_F: TxInput.TIMER_F,
    TxAction.START_G: TxInput.TIMER_G,
    TxAction.START_H: TxInput.TIMER_H,
    TxAction.START_I: TxInput.TIMER_I,
    TxAction.START_J: TxInput.TIMER_J,
    TxAction.START_K: TxInput.TIMER_K,
    TxAction.START_L: TxInput.TIMER_L,
    TxAction.START_M: TxInput.TIMER_M,
    TxAction.START_TRYING: TxInput.TIMER_TRYING,
}

S = TxState
I = TxInput  # noqa: E741 - short aliases keep the tables readable
A = TxAction
Table = dict[tuple[TxState, TxInput], tuple[TxState, tuple[TxAction, ...]]]

# RFC 3261 §17.1.1 (figure 5) + RFC 6026 §7.2 (figure 5 updated): INVITE client transaction.
_FAIL_ICT = (S.COMPLETED, (A.CLEAR_TIMERS, A.SEND_ACK, A.PASS, A.START_D))
_ACCEPT_ICT = (S.ACCEPTED, (A.CLEAR_TIMERS, A.PASS, A.START_M))
INVITE_CLIENT: Table = {
    (S.CALLING, I.TIMER_A): (S.CALLING, (A.RETRANSMIT_A,)),
    (S.CALLING, I.TIMER_B): (S.TERMINATED, (A.TIMEOUT,)),
    (S.CALLING, I.PROVISIONAL): (S.PROCEEDING, (A.CLEAR_TIMERS, A.PASS, A.START_C)),
    (S.CALLING, I.SUCCESS): _ACCEPT_ICT,
    (S.CALLING, I.FAILURE): _FAIL_ICT,
    (S.CALLING, I.TRANSPORT_ERROR): (S.TERMINATED, (A.TRANSPORT_FAILED,)),
    (S.PROCEEDING, I.PROVISIONAL): (S.PROCEEDING, (A.PASS, A.START_C)),
    (S.PROCEEDING, I.SUCCESS): _ACCEPT_ICT,
    (S.PROCEEDING, I.FAILURE): _FAIL_ICT,
    (S.PROCEEDING, I.TIMER_C): (S.PROCEEDING, (A.REQUEST_CANCEL, A.START_B)),
    (S.PROCEEDING, I.TIMER_B): (S.TERMINATED, (A.TIMEOUT,)),
    (S.PROCEEDING, I.TRANSPORT_ERROR): (S.TERMINATED, (A.TRANSPORT_FAILED,)),
    (S.COMPLETED, I.FAILURE): (S.COMPLETED, (A.SEND_ACK,)),
    (S.COMPLETED, I.TIMER_D): (S.TERMINATED, ()),
    (S.ACCEPTED, I.SUCCESS): (S.ACCEPTED, (A.PASS,)),
    (S.ACCEPTED, I.TIMER_M): (S.TERMINATED, ()),
}

# RFC 3261 §17.1.2 (figure 6): non-INVITE client transaction.
_FINAL_NICT = (S.COMPLETED, (A.CLEAR_TIMERS, A.PASS, A.START_K))
NON_INVITE_CLIENT: Table = {
    (S.TRYING, I.TIMER_E): (S.TRYING, (A.RETRANSMIT_E,)),
    (S.TRYING, I.TIMER_F): (S.TERMINATED, (A.TIMEOUT,)),
    (S.TRYING, I.PROVISIONAL): (S.PROCEEDING, (A.PASS,)),
    (S.TRYING, I.SUCCESS): _FINAL_NICT,
    (S.TRYING, I.FAILURE): _FINAL_NICT,
    (S.TRYING, I.TRANSPORT_ERROR): (S.TERMINATED, (A.TRANSPORT_FAILED,)),
    (S.PROCEEDING, I.TIMER_E): (S.PROCEEDING, (A.RETRANSMIT_E_T2,)),
    (S.PROCEEDING, I.TIMER_F): (S.TERMINATED, (A.TIMEOUT,)),
    (S.PROCEEDING, I.PROVISIONAL): (S.PROCEEDING, (A.PASS,)),
    (S.PROCEEDING, I.SUCCESS): _FINAL_NICT,
    (S.PROCEEDING, I.FAILURE): _FINAL_NICT,
    (S.PROCEEDING, I.TRANSPORT_ERROR): (S.TERMINATED, (A.TRANSPORT_FAILED,)),
    (S.COMPLETED, I.TIMER_K): (S.TERMINATED, ()),
}

# RFC 3261 §17.2.1 (figure 7) + RFC 6026 §7.1: INVITE server transaction.
INVITE_SERVER: Table = {
    (S.PROCEEDING, I.REQUEST): (S.PROCEEDING, (A.RESEND_RESPONSE,)),
    (S.PROCEEDING, I.TIMER_TRYING): (S.PROCEEDING, (A.SEND_100,)),
    (S.PROCEEDING, I.TU_PROVISIONAL): (S.PROCEEDING, (A.CLEAR_TIMERS, A.SEND)),
    (S.PROCEEDING, I.TU_SUCCESS): (S.ACCEPTED, (A.CLEAR_TIMERS, A.SEND, A.START_L)),
    (S.PROCEEDING, I.TU_FAILURE): (S.COMPLETED, (A.CLEAR_TIMERS, A.SEND, A.START_G, A.START_H)),
    (S.PROCEEDING, I.TRANSPORT_ERROR): (S.TERMINATED, (A.TRANSPORT_FAILED,)),
    (S.COMPLETED, I.REQUEST): (S.COMPLETED, (A.RESEND_RESPONSE,)),
    (S.COMPLETED, I.TIMER_G): (S.COMPLETED, (A.RETRANSMIT_G,)),
    (S.COMPLETED, I.ACK): (S.CONFIRMED, (A.CLEAR_TIMERS, A.START_I)),
    (S.COMPLETED, I.TIMER_H): (S.TERMINATED, (A.TIMEOUT,)),
    (S.COMPLETED, I.TRANSPORT_ERROR): (S.TERMINATED, (A.TRANSPORT_FAILED,)),
    (S.CONFIRMED, I.TIMER_I): (S.TERMINATED, ()),
    (S.ACCEPTED, I.TU_SUCCESS): (S.ACCEPTED, (A.SEND,)),
    # An ACK for the 2xx that (wrongly) reuses the INVITE's branch: the dialog layer takes it.
    (S.ACCEPTED, I.ACK): (S.ACCEPTED, (A.PASS,)),
    (S.ACCEPTED, I.TIMER_L): (S.TERMINATED, ()),
}

# RFC 3261 §17.2.2 (figure 8): non-INVITE server transaction.
_FINAL_NIST = (S.COMPLETED, (A.SEND, A.START_J))
NON_INVITE_SERVER: Table = {
    (S.TRYING, I.REQUEST): (S.TRYING, ()),
    (S.TRYING, I.TU_PROVISIONAL): (S.PROCEEDING, (A.SEND,)),
    (S.TRYING, I.TU_SUCCESS): _FINAL_NIST,
    (S.TRYING, I.TU_FAILURE): _FINAL_NIST,
    (S.TRYING, I.TRANSPORT_ERROR): (S.TERMINATED, (A.TRANSPORT_FAILED,)),
    (S.PROCEEDING, I.REQUEST): (S.PROCEEDING, (A.RESEND_RESPONSE,)),
    (S.PROCEEDING, I.TU_PROVISIONAL): (S.PROCEEDING, (A.SEND,)),
    (S.PROCEEDING, I.TU_SUCCESS): _FINAL_NIST,
    (S.PROCEEDING, I.TU_FAILURE): _FINAL_NIST,
    (S.PROCEEDING, I.TRANSPORT_ERROR): (S.TERMINATED, (A.TRANSPORT_FAILED,)),
    (S.COMPLETED, I.REQUEST): (S.COMPLETED, (A.RESEND_RESPONSE,)),
    (S.COMPLETED, I.TIMER_J): (S.TERMINATED, ()),
}

TABLES: dict[TxKind, Table] = {
    TxKind.INVITE_CLIENT: INVITE_CLIENT,
    TxKind.NON_INVITE_CLIENT: NON_INVITE_CLIENT,
    TxKind.INVITE_SERVER: INVITE_SERVER,
    TxKind.NON_INVITE_SERVER: NON_INVITE_SERVER,
}

#: State and actions when a transaction starts (the request has just been sent or received).
INITIAL: dict[TxKind, tuple[TxState, tuple[TxAction, ...]]] = {
    TxKind.INVITE_CLIENT: (S.CALLING, (A.START_A, A.START_B)),
    TxKind.NON_INVITE_CLIENT: (S.TRYING, (A.START_E, A.START_F)),
    TxKind.INVITE_SERVER: (S.PROCEEDING, (A.START_TRYING,)),
    TxKind.NON_INVITE_SERVER: (S.TRYING, ()),
}
