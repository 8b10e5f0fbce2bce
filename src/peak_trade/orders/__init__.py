"""Orders: requests, fills, results, the order state table, sizing and the venues."""
