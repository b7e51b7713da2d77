"""SIPp load benchmarks of the whole B2BUA process (``python -m benchmarks``).

Modules: ``office`` (the generated office and ``b2bua serve``), ``sipp`` and ``sippfiles``
(SIPp runs and what they write), ``procfs`` (CPU, RSS, UDP drops), ``stats`` (percentiles,
the rate search), ``pcap`` (captures for SIPp to play), ``probe`` (RTP round trips), ``steps``
(rate steps shared by ``calls`` and ``register``), one module per command (``register``,
``calls``, ``media``, ``soak``, ``keys``), ``report`` (tables, JSON, plots) and ``profile``
(py-spy summaries).
"""
