"""Personas through the HTTP API."""
