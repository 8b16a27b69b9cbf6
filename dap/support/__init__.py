"""1:1 support: availability, bookings, notes and action points."""
