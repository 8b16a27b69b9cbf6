"""DAP, the Digital Action Plan platform."""

from dap.app import create_app

__all__ = ["create_app"]
