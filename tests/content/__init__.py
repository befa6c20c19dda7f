"""Content assets and their persona tags through the HTTP API."""
