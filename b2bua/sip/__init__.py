"""The sans-IO SIP stack: parser, transactions, dialogs, digest authentication and `SipCore`.

Bytes and the current time go in, events and bytes come out; nothing here does I/O, reads a
clock or draws random numbers. See `b2bua.sip.core` for the entry point.
"""
