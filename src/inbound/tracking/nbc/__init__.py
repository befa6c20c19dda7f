"""Next-best content: which content asset to offer a visitor next, and why."""
