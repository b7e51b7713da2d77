"""Vectorized telephony DSP: G.711, Goertzel filter bank, DTMF detection, mixing, tones."""
