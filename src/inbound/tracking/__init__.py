"""Behaviour tracking: page views and events from a site's pages, who made them, and the next
content to suggest."""
