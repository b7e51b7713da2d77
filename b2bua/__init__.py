"""A SIP back-to-back user agent for a hosted office phone system."""

__version__ = "0.1.0"
