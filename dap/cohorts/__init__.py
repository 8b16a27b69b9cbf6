"""Cohorts: organisations, teams, cohorts, memberships and patron links."""
