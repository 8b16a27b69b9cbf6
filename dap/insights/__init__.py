"""Insights: what people do, online and offline, read across the domains."""
