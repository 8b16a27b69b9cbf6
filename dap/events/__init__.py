"""Workshops and events: the kick-off, workshops, conversations, meet-ups and webinars of a
cohort; RSVPs with a waitlist."""
