"""The skills baseline: self-assessments at checkpoints (baseline, mid-point, final), the
participant's profile, and the cohort's and teams' distributions, needs and barriers."""
