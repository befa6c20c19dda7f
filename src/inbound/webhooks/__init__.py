"""Outbound webhooks: subscriptions, signed deliveries with retries, and their log."""
