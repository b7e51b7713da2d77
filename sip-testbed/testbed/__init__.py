"""Drives real SIP peers (baresip, SIPp) on loopback for tests, benchmarks and the demo office."""
