"""The `inbound` command: serve, migrate, issue keys, run the worker, fill a demo, export the API
contract."""

from inbound.cli import crm, data, server
from inbound.cli.base import main

__all__ = ["crm", "data", "main", "server"]
