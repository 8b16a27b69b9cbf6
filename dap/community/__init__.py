"""The cohort feed: posts of a kind, comments, kudos, mentions, success stories,
volunteers sharing as they go, and moderation."""
