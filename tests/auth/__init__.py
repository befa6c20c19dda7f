"""API keys, scopes and the bearer guard, tested through HTTP."""
