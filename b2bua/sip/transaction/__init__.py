"""SIP transactions (RFC 3261 §17, RFC 6026) as state tables, and the layer that matches
messages to them."""
