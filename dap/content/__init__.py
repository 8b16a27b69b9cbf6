"""Content: the programme's Markdown library and the renderer for user-written Markdown."""
