"""Offline evaluation of next-best content: replay held-out history and score the suggestions."""
