"""The platform-time cap and the wider web: heartbeats, web-time log, the weekly allowance."""
