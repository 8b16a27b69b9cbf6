"""The skills baseline in a person's data export, and what deleting their account erases."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from dap.accounts.models import User
from dap.accounts.privacy import export_user_data
from dap.baseline.models import Answer, Rating
from dap.extensions import db
from tests import factories
from tests.conftest import post_form


def answer_some(client, world, checkpoint):
    post_form(client, f"/cohorts/{world['cohort']}/baseline/{checkpoint}/areas/listening-online",
              {"rating-listening-online.find-mentions": "4"})
    post_form(client, f"/cohorts/{world['cohort']}/baseline/{checkpoint}/questions",
              {"answer-needs": "=cmd|' /C calc'!A0 — help with our forum",
               "choice-barriers": ["time"], "answer-barriers": "Meetings all day"})


def test_export_holds_ratings_and_answers(app, world, role_client):
    answer_some(role_client("participant"), world, world["checkpoint"])
    with app.app_context():
        archive = zipfile.ZipFile(io.BytesIO(export_user_data(db.session.get(User, world["participant"]))))
        ratings = archive.read("baseline_ratings.csv").decode("utf-8")
        answers = archive.read("baseline_answers.csv").decode("utf-8")
    assert "listening-online.find-mentions,4" in ratings
    assert "Baseline" in ratings
    assert "'=cmd|" in answers  # formula neutralised
    assert "Meetings all day" in answers
    assert ",time," in answers


def test_deleting_the_account_erases_the_words_and_keeps_the_figures(app, world, role_client):
    client = role_client("participant")
    answer_some(client, world, world["checkpoint"])
    assert post_form(client, "/account/delete", {"password": factories.PASSWORD}).status_code == 302
    with app.app_context():
        answers = db.session.scalars(select(Answer)).all()
        assert {a.text for a in answers} == {""}
        assert {a.choices for a in answers if a.question_id == "barriers"} == {"time"}
        assert db.session.scalars(select(Rating.value)).all() == [4]
