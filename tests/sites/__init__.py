"""Marketing sites and their public keys, tested through HTTP."""
