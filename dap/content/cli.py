"""``flask --app dap content check``: validate every content file."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from dap.content.baseline import load_baseline
from dap.content.library import load_library
from dap.content.nudges import KINDS, load_nudges

content_cli = AppGroup("content", help="The programme's Markdown content.")


@content_cli.command("check")
def check_command() -> None:
    """Check every area, goal, nudge template and the baseline; list each problem with its
    file; exit 1 if any."""
    content_dir = Path(current_app.config["CONTENT_DIR"])
    library = load_library(content_dir)
    nudges = load_nudges(content_dir)
    baseline = load_baseline(content_dir)
    problems = library.problems + nudges.problems + baseline.problems
    for rel, problem in problems:
        click.echo(f"content/{rel}: {problem}", err=True)
    per_area = {slug: len(library.goals_in(slug)) for slug in library.areas}
    click.echo(f"{len(library.goals)} goals in {len(library.areas)} areas: "
               + ", ".join(f"{slug} {n}" for slug, n in per_area.items()))
    click.echo(f"{len(nudges.templates)} nudge templates: "
               + ", ".join(f"{kind} {len(nudges.ordered(kind))}" for kind in KINDS))
    if baseline.is_available:
        click.echo(f"Baseline: {len(baseline.statements)} statements in {len(baseline.areas)} areas, "
                   f"{len(baseline.questions)} questions.")
    if problems:
        click.echo(f"{len(problems)} problem(s) found.", err=True)
        sys.exit(1)
    click.echo("Content OK.")
