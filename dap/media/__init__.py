"""Uploaded media: images checked by decoding, re-encoded clean, and stored on disk."""
