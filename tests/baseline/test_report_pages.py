"""The facilitators' skills-baseline page and downloads, through HTTP: what they show, the
team filter and its bad values, the CSV files' form, and a page whose queries do not grow
with the cohort."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import insert

from dap.baseline.models import Answer, Assessment, Rating
from dap.clock import now_utc
from dap.cohorts.models import Cohort, CohortRole
from dap.content.baseline import current_baseline
from dap.extensions import db
from tests import factories
from tests.conftest import counting_queries


def add_people(app, world, count: int, *, value: int = 3, start: int = 0) -> None:
    """``count`` more participants of the world's cohort and team, each with a sent
    baseline rated ``value`` everywhere and a barrier, written in bulk."""
    with app.app_context():
        baseline = current_baseline()
        cohort = db.session.get(Cohort, world["cohort"])
        team = db.session.get(factories.Team, world["team"])
        people = []
        for i in range(start, start + count):
            person = factories.make_user(name=f"Person {i:03d}")
            factories.add_member(cohort, person, CohortRole.PARTICIPANT, team)
            people.append(person)
        db.session.flush()
        now = now_utc()
        for person in people:
            assessment = Assessment(checkpoint_id=world["checkpoint"], cohort_id=cohort.id,
                                    user_id=person.id, started_at=now, updated_at=now,
                                    submitted_at=now)
            db.session.add(assessment)
            db.session.flush()
            db.session.execute(insert(Rating), [
                {"assessment_id": assessment.id, "statement_id": s.id, "area": s.area,
                 "value": value} for s in baseline.statements.values()])
            db.session.add(Answer(assessment_id=assessment.id, question_id="barriers",
                                  choices="it-restrictions",
                                  text=f"Blocked site number {person.id}"))
            db.session.add(Answer(assessment_id=assessment.id, question_id="needs",
                                  choices="", text=f"Need of {person.name}"))
        db.session.commit()


def report_path(world, suffix=""):
    return f"/cohorts/{world['cohort']}/baseline/report{suffix}"


def test_report_shows_the_figures_and_the_words(app, world, role_client):
    add_people(app, world, 6, value=2)
    page = role_client("facilitator").get(report_path(world))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "7 active participants" in text  # the world's participant has not sent it
    assert "Baseline: 6 sent" in text
    assert "<td>2.00</td>" in text  # every median
    assert "Need of Person 003" in text
    assert "IT restrictions" in text


@pytest.mark.parametrize("team", ["abc", "-1", "99999999999999999999", "٣", "", "0"])
def test_a_bad_or_unknown_team_filter_is_harmless(app, world, role_client, team):
    add_people(app, world, 2)
    response = role_client("facilitator").get(report_path(world, f"?team={team}"))
    assert response.status_code == 200


def test_another_organisations_team_shows_nobody(app, world, role_client):
    add_people(app, world, 2)
    with app.app_context():
        other = factories.make_team(factories.make_organisation(), "Elsewhere")
        db.session.commit()
        other_id = other.id
    text = role_client("facilitator").get(report_path(world, f"?team={other_id}")).get_data(
        as_text=True)
    assert "0 active participants" in text
    assert "Need of" not in text


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # a byte-order mark for spreadsheet programs
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_answers_csv_download(app, world, role_client):
    add_people(app, world, 3, value=4)
    response = role_client("facilitator").get(report_path(world, ".csv"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = read_csv(response)
    assert rows[0][:6] == ["name", "email", "team", "checkpoint", "started", "submitted"]
    assert len(rows) == 4
    assert rows[1][0].startswith("Person ")


def test_barriers_csv_has_no_names(app, world, role_client):
    add_people(app, world, 4)
    rows = read_csv(role_client("facilitator").get(
        f"/cohorts/{world['cohort']}/baseline/barriers.csv"))
    text = "\n".join(",".join(r) for r in rows)
    assert "Person" not in text  # no names, not even inside the words they wrote…
    assert "Customer Services" in text  # …but the team, of four people answering
    assert "example" not in text  # no email addresses


def test_barriers_written_words_are_labelled_by_team_only(app, world, role_client):
    add_people(app, world, 3)
    rows = read_csv(role_client("facilitator").get(
        f"/cohorts/{world['cohort']}/baseline/barriers.csv"))
    written = [r for r in rows if r[0] == "free text"]
    assert len(written) == 3
    assert all(r[1] == "Customer Services" for r in written)
    assert all(r[3].startswith("Blocked site number") for r in written)


def test_report_queries_do_not_grow_with_the_cohort(app, world, role_client):
    client = role_client("facilitator")

    def count(path: str) -> int:
        client.get(path)  # warm: the first request may make the baseline checkpoint
        with counting_queries(app) as statements:
            assert client.get(path).status_code == 200
        return len(statements)

    add_people(app, world, 5)
    small = [count(report_path(world)), count(report_path(world, ".csv"))]
    add_people(app, world, 45, start=5)
    assert [count(report_path(world)), count(report_path(world, ".csv"))] == small
