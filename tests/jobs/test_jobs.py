"""Jobs: recorded runs, failures that stop nothing, the scheduler lease, the admin page,
the scheduler's job registration and when the development server starts a scheduler."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from dap import create_app
from dap.app import _is_dev_server_process, maybe_start_dev_scheduler
from dap.extensions import db
from dap.jobs import registry, scheduler
from dap.jobs.models import JobRun
from dap.jobs.registry import JobDefinition
from dap.jobs.runner import acquire_lease, latest_runs, release_lease, run_due
from dap.nudges.models import OutboxMessage
from dap.nudges.services import queue_email
from tests.conftest import test_overrides

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=90)


# --- helpers ---------------------------------------------------------------------------------


def queue(app, key: str = "reset:1", to: str = "alex@example.org") -> None:
    with app.app_context():
        queue_email(
            to=to, subject="Reset your DAP password", template="password_reset",
            context={"user": {"first_name": "Alex"}, "link": "https://x/reset/t", "minutes": 60},
            dedup_key=key, kind="password_reset",
        )
        db.session.commit()


def job_runs(app) -> list[JobRun]:
    with app.app_context():
        rows = db.session.scalars(select(JobRun).order_by(JobRun.id)).all()
        db.session.expunge_all()
        return list(rows)


def eml_files(app) -> list[Path]:
    return sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))


def slow_scan(app) -> str:
    time.sleep(0.05)
    return "looked at 3 things"


def broken_scan(app) -> str:
    # Writes, then fails: the write must be rolled back, not committed with the run row.
    queue_email(
        to="half@example.org", subject="Half done", template="password_reset",
        context={"user": {"first_name": "H"}, "link": "https://x/reset/t", "minutes": 60},
        dedup_key="half-done", kind="general",
    )
    raise RuntimeError("the scan broke")


SLOW = JobDefinition("slow_scan", slow_scan, 120, "A scan that takes a while")
BROKEN = JobDefinition("broken_scan", broken_scan, 300, "A scan that always fails")


# --- run_due and its records -----------------------------------------------------------------


@pytest.fixture
def only_delivery(monkeypatch):
    """Just the outbox scan, so a test about one delivery pass reads one run."""
    monkeypatch.setattr(registry, "JOBS", [registry.job_by_id("deliver_outbox")])


def test_run_due_runs_every_registered_job(app):
    runs = run_due(app, runner="test-runner")
    assert [run.job_id for run in runs] == [
        "event_reminders", "support_reminders", "checkin_reminders", "silent_participants",
        "patron_summaries", "event_feedback", "daily_digests", "deliver_outbox", "deliver_webhooks",
        "prune_history"]
    assert all(run.status == "ok" for run in runs)


def test_run_due_records_one_run_per_job_with_duration_and_result(app, frozen, only_delivery):
    frozen(T0)
    queue(app)
    runs = run_due(app, runner="test-runner")

    assert [run.job_id for run in runs] == [job.id for job in registry.JOBS]
    [run] = runs
    assert run.status == "ok"
    assert run.result == "sent 1, will retry 0, gave up 0"
    assert run.error == ""
    assert run.runner == "test-runner"
    assert run.started_at == T0
    assert run.finished_at == T0
    assert isinstance(run.duration_ms, int)
    assert run.duration_ms >= 0
    stored = job_runs(app)
    assert [(r.job_id, r.status, r.result) for r in stored] == [
        ("deliver_outbox", "ok", "sent 1, will retry 0, gave up 0")]
    assert len(eml_files(app)) == 1


def test_run_duration_is_measured(app, monkeypatch):
    monkeypatch.setattr(registry, "JOBS", [SLOW])
    [run] = run_due(app, runner="test")
    assert run.result == "looked at 3 things"
    assert 50 <= run.duration_ms < 5000


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(app, monkeypatch, only_delivery):
    monkeypatch.setattr(registry, "JOBS", [BROKEN, *registry.JOBS])
    queue(app)

    broken, delivered = run_due(app, runner="test")

    assert broken.job_id == "broken_scan"
    assert broken.status == "error"
    assert broken.error == "RuntimeError: the scan broke"
    assert broken.result == ""
    assert delivered.job_id == "deliver_outbox"
    assert delivered.status == "ok"
    assert delivered.result == "sent 1, will retry 0, gave up 0"
    assert [(r.job_id, r.status) for r in job_runs(app)] == [
        ("broken_scan", "error"), ("deliver_outbox", "ok")]
    with app.app_context():  # the failed scan's half-done write was rolled back
        keys = db.session.scalars(select(OutboxMessage.dedup_key)).all()
    assert keys == ["reset:1"]


def test_cli_run_due_exits_non_zero_when_a_job_fails_but_runs_the_others(app, runner, monkeypatch):
    monkeypatch.setattr(registry, "JOBS", [BROKEN, *registry.JOBS])
    queue(app)
    result = runner.invoke(args=["jobs", "run-due"])
    assert result.exit_code == 1
    assert "broken_scan: error" in result.output
    assert "RuntimeError: the scan broke" in result.output
    assert "deliver_outbox: ok" in result.output
    assert len(eml_files(app)) == 1


def test_cli_run_due_twice_in_a_row_sends_nothing_twice(app, runner, only_delivery):
    queue(app, key="a", to="a@example.org")
    queue(app, key="b", to="b@example.org")
    first = runner.invoke(args=["jobs", "run-due"])
    second = runner.invoke(args=["jobs", "run-due"])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "sent 2, will retry 0, gave up 0" in first.output
    assert "sent 0, will retry 0, gave up 0" in second.output
    assert len(eml_files(app)) == 2
    runs = job_runs(app)
    assert len(runs) == 2
    assert all(run.runner.startswith("cli@") for run in runs)


def test_cli_lists_every_registered_job(app, runner, monkeypatch):
    monkeypatch.setattr(registry, "JOBS", [*registry.JOBS, SLOW])
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines == [f"{j.id}\tevery {j.seconds}s\t{j.description}" for j in registry.JOBS]


def test_latest_runs_gives_the_newest_run_of_each_job(app, monkeypatch, frozen):
    monkeypatch.setattr(registry, "JOBS", [SLOW, BROKEN])
    frozen(T0)
    run_due(app, runner="first")
    frozen(T0 + timedelta(minutes=5))
    run_due(app, runner="second")
    with app.app_context():
        latest = latest_runs()
    assert sorted(latest) == ["broken_scan", "slow_scan"]
    assert {run.runner for run in latest.values()} == {"second"}
    assert latest["broken_scan"].started_at == T0 + timedelta(minutes=5)


# --- the scheduler lease ---------------------------------------------------------------------


def test_lease_refuses_a_second_holder_while_the_first_is_live(app, frozen):
    frozen(T0)
    with app.app_context():
        assert acquire_lease("scheduler-a", ttl=TTL) is True
        assert acquire_lease("scheduler-b", ttl=TTL) is False
        frozen(T0 + timedelta(seconds=60))
        assert acquire_lease("scheduler-a", ttl=TTL) is True  # renewed to T0+150s
        frozen(T0 + timedelta(seconds=120))
        assert acquire_lease("scheduler-b", ttl=TTL) is False  # the renewal keeps it live


def test_lease_passes_to_the_second_holder_after_expiry(app, frozen):
    frozen(T0)
    with app.app_context():
        assert acquire_lease("scheduler-a", ttl=TTL) is True
        frozen(T0 + TTL)
        assert acquire_lease("scheduler-b", ttl=TTL) is False  # expires_at is not yet past
        frozen(T0 + TTL + timedelta(seconds=1))
        assert acquire_lease("scheduler-b", ttl=TTL) is True
        assert acquire_lease("scheduler-a", ttl=TTL) is False  # the old holder has lost it


def test_lease_passes_at_once_after_release(app, frozen):
    frozen(T0)
    with app.app_context():
        assert acquire_lease("scheduler-a", ttl=TTL) is True
        release_lease("scheduler-b")  # not the holder: changes nothing
        assert acquire_lease("scheduler-b", ttl=TTL) is False
        release_lease("scheduler-a")
        assert acquire_lease("scheduler-b", ttl=TTL) is True


def test_run_if_leader_runs_the_job_only_for_the_lease_holder(app, monkeypatch, frozen):
    frozen(T0)
    with app.app_context():
        assert acquire_lease("other-process", ttl=TTL) is True
    scheduler._run_if_leader(app, SLOW, "this-process")
    assert job_runs(app) == []
    frozen(T0 + TTL + timedelta(seconds=1))
    scheduler._run_if_leader(app, SLOW, "this-process")
    assert [(r.job_id, r.runner) for r in job_runs(app)] == [("slow_scan", "this-process")]


# --- the admin page --------------------------------------------------------------------------


def test_admin_jobs_page_shows_each_jobs_last_run(app, role_client, monkeypatch, only_delivery):
    monkeypatch.setattr(registry, "JOBS", [*registry.JOBS, BROKEN])
    queue(app)
    delivered, broken = run_due(app, runner="test-runner")

    response = role_client("admin").get("/admin/jobs/")

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    for job in registry.JOBS:
        assert job.description in body
        assert f"<code>{job.id}</code>" in body
    assert "sent 1, will retry 0, gave up 0" in body
    assert f"{delivered.duration_ms} ms" in body
    assert "RuntimeError: the scan broke" in body
    assert "test-runner" in body
    assert "never" not in body


def test_admin_jobs_page_says_never_for_a_job_that_has_not_run(app, role_client):
    response = role_client("admin").get("/admin/jobs/")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "never" in body
    assert "No job has run yet." in body


@pytest.mark.parametrize("role", ["participant", "patron", "facilitator"])
def test_admin_jobs_page_is_forbidden_to_non_admins(role_client, role):
    assert role_client(role).get("/admin/jobs/").status_code == 403


def test_admin_jobs_page_sends_anonymous_visitors_to_sign_in(role_client):
    response = role_client("anonymous").get("/admin/jobs/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# --- scheduler registration ------------------------------------------------------------------


def test_configure_registers_every_job_coalesced_one_at_a_time(app, monkeypatch):
    monkeypatch.setattr(registry, "JOBS", [*registry.JOBS, SLOW, BROKEN])
    sched = BackgroundScheduler(timezone="UTC")
    scheduler.configure(sched, app, "holder-1")

    jobs = {job.id: job for job in sched.get_jobs()}
    assert set(jobs) == {"lease", *(job.id for job in registry.JOBS)}
    for definition in registry.JOBS:
        job = jobs[definition.id]
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == timedelta(seconds=definition.seconds)
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == definition.seconds
        assert job.args == (app, definition, "holder-1")
        assert job.name == definition.description
    lease = jobs["lease"]
    assert lease.trigger.interval == timedelta(seconds=scheduler.LEASE_RENEW_SECONDS)
    assert (lease.coalesce, lease.max_instances) == (True, 1)
    assert scheduler.LEASE_TTL.total_seconds() > scheduler.LEASE_RENEW_SECONDS * 2
    assert not sched.running


def test_configure_twice_replaces_jobs_instead_of_duplicating_them(app):
    sched = BackgroundScheduler(timezone="UTC")
    sched.start(paused=True)
    try:
        scheduler.configure(sched, app, "holder-1")
        scheduler.configure(sched, app, "holder-2")  # would raise ConflictingIdError without
        jobs = sched.get_jobs()                       # replace_existing
        assert sorted(job.id for job in jobs) == sorted(["lease", *(j.id for j in registry.JOBS)])
        assert {job.args[-1] for job in jobs} == {"holder-2"}
    finally:
        sched.shutdown(wait=False)


# --- when the development server starts a scheduler ------------------------------------------


@pytest.fixture
def started(monkeypatch) -> list:
    """Record calls to ``start_background_scheduler`` instead of starting threads."""
    calls: list = []
    monkeypatch.setattr(scheduler, "start_background_scheduler", calls.append)
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    return calls


def click_context(name: str, **params) -> click.Context:
    ctx = click.Context(click.Command(name), info_name=name)
    ctx.params.update(params)
    return ctx


def dev_app(tmp_path, database_url, **overrides):
    return create_app({**test_overrides(database_url, tmp_path), "TESTING": False,
                       "SCHEDULER": "inprocess", **overrides})


def test_no_click_command_is_not_the_dev_server(started):
    assert _is_dev_server_process() is False  # gunicorn, tests, a Python shell


@pytest.mark.parametrize("command", ["shell", "jobs", "run-due", "scheduler", "routes"])
def test_other_commands_are_not_the_dev_server_even_under_the_reloader(
    started, monkeypatch, command
):
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    with click_context(command, reload=False):
        assert _is_dev_server_process() is False


def test_reloader_child_is_the_dev_server(started, monkeypatch):
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    with click_context("run", reload=True):
        assert _is_dev_server_process() is True


def test_reloader_parent_is_not_the_dev_server(started):
    with click_context("run", reload=True):
        assert _is_dev_server_process() is False


def test_run_without_reloader_is_the_dev_server(started):
    with click_context("run", reload=False):
        assert _is_dev_server_process() is True


def test_run_with_reload_unset_follows_the_debug_flag(started, monkeypatch):
    with click_context("run", reload=None):
        assert _is_dev_server_process() is True  # no debug: no reloader
        monkeypatch.setenv("FLASK_DEBUG", "1")
        assert _is_dev_server_process() is False  # debug: this is the reloader's parent


def test_maybe_start_dev_scheduler_starts_it_in_the_serving_process(app, started):
    app.config.update(TESTING=False, SCHEDULER="inprocess")
    with click_context("run", reload=False):
        maybe_start_dev_scheduler(app)
    assert started == [app]


def test_maybe_start_dev_scheduler_starts_nothing_when_scheduler_is_off(app, started):
    app.config.update(TESTING=False, SCHEDULER="off")
    with click_context("run", reload=False):
        maybe_start_dev_scheduler(app)
    assert started == []


def test_maybe_start_dev_scheduler_starts_nothing_for_other_commands(app, started, monkeypatch):
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    app.config.update(TESTING=False, SCHEDULER="inprocess")
    with click_context("shell"):
        maybe_start_dev_scheduler(app)
    assert started == []


def test_create_app_starts_the_scheduler_in_the_reloader_child(
    started, monkeypatch, tmp_path, database_url
):
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    with click_context("run", reload=True):
        app = dev_app(tmp_path, database_url)
    assert started == [app]


def test_create_app_starts_nothing_in_the_reloader_parent(started, tmp_path, database_url):
    with click_context("run", reload=True):
        dev_app(tmp_path, database_url)
    assert started == []


def test_create_app_in_testing_never_starts_the_scheduler(
    started, monkeypatch, tmp_path, database_url
):
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    with click_context("run", reload=False):
        create_app({**test_overrides(database_url, tmp_path), "SCHEDULER": "inprocess"})
        create_app(test_overrides(database_url, tmp_path))
    assert started == []



def test_prune_history_removes_expired_sessions_and_old_runs_only(app, world, login_as, frozen):
    from datetime import timedelta

    from sqlalchemy import func, select

    from dap.accounts.models import User, UserSession
    from dap.clock import now_utc
    from dap.extensions import db
    from dap.jobs.models import JobRun
    from dap.jobs.registry import prune_history

    start = frozen(now_utc())
    with app.app_context():
        old_client = login_as(db.session.get(User, world["participant"]))
        db.session.add(JobRun(job_id="deliver_outbox", started_at=start - timedelta(days=31),
                              status="ok"))
        db.session.add(JobRun(job_id="deliver_outbox", started_at=start + timedelta(days=30),
                              status="ok"))
        db.session.commit()
    frozen(start + timedelta(days=31))
    with app.app_context():
        recent_client = login_as(db.session.get(User, world["patron"]))
        summary = prune_history(app)
        db.session.commit()
        assert summary == "removed 1 expired sessions, 1 old job runs, 0 old idempotency keys"
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1
    assert old_client.get("/account").status_code == 302
    assert recent_client.get("/account").status_code == 200
