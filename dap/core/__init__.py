"""Cross-cutting pages: home, dashboard, health check, error pages, template helpers."""
