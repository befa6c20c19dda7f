"""inbound: an async backend for inbound marketing."""
