"""Every route requested as every role, against the status each role should get.

Adding a route without adding it here fails ``test_matrix_covers_every_route``.
"""

from __future__ import annotations

import pytest

from tests.conftest import post_form

ROLES = ["anonymous", "participant", "patron", "facilitator", "admin"]

SIGNED_IN = {"anonymous": 302, "participant": 200, "patron": 200, "facilitator": 200, "admin": 200}
ADMIN_ONLY = {"anonymous": 302, "participant": 403, "patron": 403, "facilitator": 403, "admin": 200}


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def managers(status: int) -> dict[str, int]:
    """What a cohort's managers get; its other members get 404 (no existence leak)."""
    return {"anonymous": 302, "participant": 404, "patron": 404, "facilitator": status,
            "admin": status}


MANAGERS = managers(200)
#: site facilitators and admins; members without the site role are refused (403)
FACILITATORS = {"anonymous": 302, "participant": 403, "patron": 403, "facilitator": 200,
                "admin": 200}



def participant_only(status: int) -> dict[str, int]:
    """Pages of a participant's own plan: everyone else signed in gets 404."""
    return {**everyone(404), "anonymous": 302, "participant": status}


PARTICIPANT_ONLY = participant_only(200)
#: the cohort feed: its participants and managers (patrons look out for people, not the cohort)
FEED = {**MANAGERS, "participant": 200}


def plan_readers(status: int) -> dict[str, int]:
    """Someone's plan at /cohorts/<id>/people/<membership>/plan: the participant, their
    patron and the cohort's managers may read it."""
    return {**everyone(status), "anonymous": 302}


def plan_writers(status: int) -> dict[str, int]:
    """Writing to the (not managed) participant's plan through the people/ URL: only they
    may; their patron and the managers see the plan but are refused (403)."""
    return {**everyone(403), "anonymous": 302, "participant": status}


PLAN = "/cohorts/{cohort}/people/{participant_membership}/plan"
THEIRS = "/cohorts/{cohort}/people/{participant_membership}/baseline"

#: endpoint -> (method, path with {placeholders} from the world fixture, expected per role)
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    "static": ("GET", "/static/css/app.css", everyone(200)),
    "core.healthz": ("GET", "/healthz", everyone(200)),
    "core.index": ("GET", "/", everyone(200)),
    "accounts.login": ("GET", "/login", {**everyone(302), "anonymous": 200}),
    "accounts.logout": ("GET", "/logout", {**everyone(200), "anonymous": 302}),
    "accounts.reset_request": ("GET", "/reset", everyone(200)),
    "accounts.reset_password": ("GET", "/reset/not-a-token", everyone(400)),
    "accounts.account": ("GET", "/account", SIGNED_IN),
    "accounts.change_password": ("POST", "/account/password",
                                 {**everyone(400), "anonymous": 302}),
    "accounts.sign_out_everywhere": ("POST", "/account/sign-out-everywhere", everyone(302)),
    "accounts.admin_users": ("GET", "/admin/users", ADMIN_ONLY),
    "accounts.admin_user_new": ("GET", "/admin/users/new", ADMIN_ONLY),
    "accounts.admin_user": ("GET", "/admin/users/{outsider}", ADMIN_ONLY),
    "accounts.admin_user_set_active": ("POST", "/admin/users/{outsider}/active",
                                       {**ADMIN_ONLY, "admin": 303}),
    "jobs.index": ("GET", "/admin/jobs/", ADMIN_ONLY),
    # Insights: the organisation report (admins)
    "org_report.report": ("GET", "/admin/insights", ADMIN_ONLY),
    "org_report.report_csv": ("GET", "/admin/insights.csv", ADMIN_ONLY),
    # People in a cohort: its facilitators and admins; members of other kinds get 404.
    "people.roster": ("GET", "/cohorts/{cohort}/people", MANAGERS),
    "people.roster_csv": ("GET", "/cohorts/{cohort}/people.csv", MANAGERS),
    "people.invite": ("GET", "/cohorts/{cohort}/people/invite", MANAGERS),
    "people.import_people": ("GET", "/cohorts/{cohort}/people/import", MANAGERS),
    "people.new_managed": ("GET", "/cohorts/{cohort}/people/managed/new", MANAGERS),
    "people.member": ("GET", "/cohorts/{cohort}/people/{participant_membership}", MANAGERS),
    "people.change_member": ("POST", "/cohorts/{cohort}/people/{participant_membership}/change",
                             managers(400)),
    "people.link_patron": ("POST", "/cohorts/{cohort}/people/{participant_membership}/patrons",
                           managers(400)),
    "people.invite_takeover": ("POST",
                               "/cohorts/{cohort}/people/{participant_membership}/takeover",
                               managers(400)),
    # an empty form: no reason, 400 with a message
    "people.cap_exemption": ("POST", "/cohorts/{cohort}/people/{participant_membership}/cap-exemption",
                             managers(400)),
    "people.remove_member": ("POST", "/cohorts/{cohort}/people/{participant_membership}/remove",
                             managers(303)),
    "people.resend_invitation": ("POST", "/cohorts/{cohort}/invitations/{invitation}/resend",
                                 managers(303)),
    "people.revoke_invitation": ("POST", "/cohorts/{cohort}/invitations/{invitation}/revoke",
                                 managers(303)),
    "people.end_link": ("POST", "/cohorts/{cohort}/patron-links/{patron_link}/end",
                        {**managers(303), "participant": 303}),
    "people.my_patrons": ("GET", "/cohorts/{cohort}/my-patrons",
                          {**everyone(404), "anonymous": 302, "participant": 200}),
    "people.join": ("GET", "/join/not-a-token", everyone(400)),
    # Setting up programmes.
    "cohorts.organisations": ("GET", "/organisations", FACILITATORS),
    "cohorts.organisation": ("GET", "/organisations/{organisation}", FACILITATORS),
    "cohorts.organisation_archive": ("POST", "/organisations/{organisation}/archive",
                                     {**FACILITATORS, "facilitator": 303, "admin": 303}),
    "cohorts.team_new": ("POST", "/organisations/{organisation}/teams",
                         {**FACILITATORS, "facilitator": 400, "admin": 400}),
    "cohorts.team": ("GET", "/organisations/{organisation}/teams/{team}", FACILITATORS),
    "cohorts.team_archive": ("POST", "/organisations/{organisation}/teams/{team}/archive",
                             {**FACILITATORS, "facilitator": 303, "admin": 303}),
    "cohorts.index": ("GET", "/cohorts", FACILITATORS),
    "cohorts.new": ("GET", "/cohorts/new", FACILITATORS),
    "cohorts.overview": ("GET", "/cohorts/{cohort}", MANAGERS),
    "cohorts.edit": ("GET", "/cohorts/{cohort}/edit", MANAGERS),
    "cohorts.archive": ("POST", "/cohorts/{cohort}/archive", managers(303)),
    "cohorts.facilitators": ("GET", "/cohorts/{cohort}/facilitators", MANAGERS),
    # the last facilitator cannot be removed: 400 with a message
    "cohorts.facilitator_remove": ("POST", "/cohorts/{cohort}/facilitators/{facilitator}/remove",
                                   managers(400)),
    "cohorts.home": ("GET", "/cohorts/{cohort}/home", SIGNED_IN),
    "cohorts.visibility": ("POST", "/cohorts/{cohort}/visibility",
                           {**everyone(303), "anonymous": 302, "admin": 404}),
    # The goal library: anyone signed in (a real goal's page is tested in tests/content).
    "library.index": ("GET", "/library/", SIGNED_IN),
    "library.goal": ("GET", "/library/no-such-goal", {**everyone(404), "anonymous": 302}),
    # A participant's own plan: only active participants of the cohort; goal and check-in
    # ids that are not theirs (here: that do not exist) are 404 for them too.
    "plans.plan": ("GET", "/cohorts/{cohort}/plan", PARTICIPANT_ONLY),
    "plans.rhythm": ("GET", "/cohorts/{cohort}/plan/rhythm", PARTICIPANT_ONLY),
    "plans.print_mine": ("GET", "/cohorts/{cohort}/plan/print", PARTICIPANT_ONLY),
    "plans.print_cohort": ("GET", "/cohorts/{cohort}/plans/print", MANAGERS),
    # an empty pause form: no end date, 400 with a message
    "plans.pause": ("POST", "/cohorts/{cohort}/plan/pause", participant_only(400)),
    "plans.resume": ("POST", "/cohorts/{cohort}/plan/resume", participant_only(302)),
    "plans.new_goal": ("GET", "/cohorts/{cohort}/plan/goals/new", PARTICIPANT_ONLY),
    # no slug: an unknown library goal
    "plans.adopt": ("POST", "/cohorts/{cohort}/plan/adopt", participant_only(404)),
    "plans.goal": ("GET", "/cohorts/{cohort}/plan/goals/999999", participant_only(404)),
    "plans.check_in": ("POST", "/cohorts/{cohort}/plan/goals/999999/check-ins",
                       participant_only(404)),
    "plans.done": ("POST", "/cohorts/{cohort}/plan/goals/999999/done", participant_only(404)),
    "plans.status": ("POST", "/cohorts/{cohort}/plan/goals/999999/status",
                     participant_only(404)),
    "plans.move": ("POST", "/cohorts/{cohort}/plan/goals/999999/move", participant_only(404)),
    "plans.edit_check_in": ("GET", "/cohorts/{cohort}/plan/check-ins/999999/edit",
                            participant_only(404)),
    # The same pages of someone else's plan (here: the world's participant, not managed).
    "plans.plan (people)": ("GET", PLAN, plan_readers(200)),
    "plans.rhythm (people)": ("GET", PLAN + "/rhythm",
                              {**plan_readers(200), "patron": 403}),
    "plans.print_mine (people)": ("GET", PLAN + "/print", {**plan_readers(200), "patron": 403}),
    "plans.pause (people)": ("POST", PLAN + "/pause", {**plan_readers(400), "patron": 403}),
    "plans.resume (people)": ("POST", PLAN + "/resume", {**plan_readers(302), "patron": 403}),
    "plans.new_goal (people)": ("GET", PLAN + "/goals/new", plan_writers(200)),
    "plans.adopt (people)": ("POST", PLAN + "/adopt", plan_writers(404)),
    "plans.goal (people)": ("GET", PLAN + "/goals/999999", plan_readers(404)),
    "plans.check_in (people)": ("POST", PLAN + "/goals/999999/check-ins", plan_writers(404)),
    "plans.done (people)": ("POST", PLAN + "/goals/999999/done", plan_writers(404)),
    "plans.status (people)": ("POST", PLAN + "/goals/999999/status", plan_writers(404)),
    "plans.move (people)": ("POST", PLAN + "/goals/999999/move", plan_writers(404)),
    "plans.edit_check_in (people)": ("GET", PLAN + "/check-ins/999999/edit",
                                     plan_writers(404)),
    # Plan review (rules in tests/plans/test_review.py). Empty forms: asking fails on a plan
    # without goals (400), withdrawing and finishing with no review open (400), an empty
    # comment (400), no goal chosen to suggest (400); unknown goal and suggestion ids: 404.
    # Participants do not mark their own plan reviewed, nor suggest goals to themselves (403).
    "plans.request_review": ("POST", "/cohorts/{cohort}/plan/review", participant_only(400)),
    "plans.withdraw_review": ("POST", "/cohorts/{cohort}/plan/review/withdraw",
                              participant_only(400)),
    "plans.complete_review": ("POST", "/cohorts/{cohort}/plan/review/done",
                              participant_only(403)),
    "plans.comment": ("POST", "/cohorts/{cohort}/plan/comments", participant_only(400)),
    "plans.goal_comment": ("POST", "/cohorts/{cohort}/plan/goals/999999/comments",
                           participant_only(404)),
    "plans.suggest_goal": ("POST", "/cohorts/{cohort}/plan/suggestions", participant_only(403)),
    "plans.dismiss_suggestion": ("POST", "/cohorts/{cohort}/plan/suggestions/999999/dismiss",
                                 participant_only(404)),
    "plans.request_review (people)": ("POST", PLAN + "/review", plan_writers(400)),
    "plans.withdraw_review (people)": ("POST", PLAN + "/review/withdraw", plan_writers(400)),
    "plans.complete_review (people)": ("POST", PLAN + "/review/done",
                                       {**plan_readers(400), "participant": 403}),
    "plans.comment (people)": ("POST", PLAN + "/comments", plan_readers(400)),
    "plans.goal_comment (people)": ("POST", PLAN + "/goals/999999/comments", plan_readers(404)),
    "plans.suggest_goal (people)": ("POST", PLAN + "/suggestions",
                                    {**plan_readers(400), "participant": 403}),
    "plans.dismiss_suggestion (people)": ("POST", PLAN + "/suggestions/999999/dismiss",
                                          plan_writers(404)),
    "plans.reviews": ("GET", "/reviews", SIGNED_IN),
    # Endorsing finished goals (rules in tests/plans/test_endorsements.py): only at someone
    # else's plan's address (nobody endorses their own goal: the participant gets 404 there);
    # an unknown goal id is a 404 for its patron and managers too.
    "plans.endorse": ("POST", PLAN + "/goals/999999/endorsement",
                      {**everyone(404), "anonymous": 302}),
    "plans.withdraw_endorsement": ("POST", PLAN + "/goals/999999/endorsement/withdraw",
                                   {**everyone(404), "anonymous": 302}),
    # the patron home: the world's patron sees their participant; everyone else signed in is
    # patron to nobody and gets the empty page
    "plans.patron_home": ("GET", "/patron", SIGNED_IN),
    # The platform-time cap: only participants are measured (others: 204, nothing stored);
    # a page's script signed out gets 401, not a redirect.
    "timecap.heartbeat": ("POST", "/time/heartbeat",
                          {**everyone(204), "anonymous": 401, "participant": 200}),
    "timecap.explore": ("GET", "/time/explore", PARTICIPANT_ONLY),
    "timecap.log": ("GET", "/time/log", PARTICIPANT_ONLY),
    "timecap.delete_activity": ("POST", "/time/activities/999999/delete", participant_only(404)),
    # Events: every member sees the cohort's events; its facilitators schedule and cancel;
    # participants answer. An event id outside the cohort is a 404 for everyone.
    "events.index": ("GET", "/cohorts/{cohort}/events", {**everyone(200), "anonymous": 302}),
    "events.month": ("GET", "/cohorts/{cohort}/events/month",
                     {**everyone(200), "anonymous": 302}),
    "events.new": ("GET", "/cohorts/{cohort}/events/new", MANAGERS),
    "events.show": ("GET", "/cohorts/{cohort}/events/999999", {**everyone(404), "anonymous": 302}),
    "events.edit": ("GET", "/cohorts/{cohort}/events/999999/edit",
                    {**everyone(404), "anonymous": 302}),
    "events.attendance": ("GET", "/cohorts/{cohort}/events/999999/attendance",
                          {**everyone(404), "anonymous": 302}),
    # Self check-in (rules in tests/events/test_checkin.py): the screen and its script's
    # feed for the cohort's managers (the feed answers 401 signed out); checking in for its
    # participants (others in the cohort: 403).
    "events.check_in_show": ("GET", "/cohorts/{cohort}/events/999999/check-in/show",
                             {**everyone(404), "anonymous": 302}),
    "events.check_in_code": ("GET", "/cohorts/{cohort}/events/999999/check-in/code",
                             {**everyone(404), "anonymous": 401}),
    "events.check_in": ("GET", "/cohorts/{cohort}/events/999999/check-in",
                        {**everyone(404), "anonymous": 302}),
    "events.check_in (post)": ("POST", "/cohorts/{cohort}/events/999999/check-in",
                               {**everyone(404), "anonymous": 302}),
    "events.answer": ("POST", "/cohorts/{cohort}/events/999999/answer",
                      {**everyone(404), "anonymous": 302}),
    "events.cancel": ("POST", "/cohorts/{cohort}/events/999999/cancel",
                      {**everyone(404), "anonymous": 302}),
    "events.event_ics": ("GET", "/cohorts/{cohort}/events/999999/event.ics",
                         {**everyone(404), "anonymous": 302}),
    # The personal calendar feed: its page for anyone signed in; the feed itself opens by
    # its secret address alone (an unknown one is a 404 for everyone).
    "events.feed": ("GET", "/calendar", SIGNED_IN),
    "events.feed_ics": ("GET", "/calendar/not-a-token.ics", everyone(404)),
    # Feedback after events (rules in tests/events/test_feedback.py): the form for the
    # cohort's participants who came (others in the cohort: 404); the results, per event and
    # across the cohort (with its CSV), for its managers.
    "event_feedback.give": ("GET", "/cohorts/{cohort}/events/999999/feedback",
                            {**everyone(404), "anonymous": 302}),
    "event_feedback.give (post)": ("POST", "/cohorts/{cohort}/events/999999/feedback",
                                   {**everyone(404), "anonymous": 302}),
    "event_feedback.results": ("GET", "/cohorts/{cohort}/events/999999/feedback/results",
                               {**everyone(404), "anonymous": 302}),
    "event_feedback.summary": ("GET", "/cohorts/{cohort}/events/feedback", MANAGERS),
    "event_feedback.summary_csv": ("GET", "/cohorts/{cohort}/events/feedback.csv", MANAGERS),
    "event_recaps.show": ("GET", "/cohorts/{cohort}/events/999999/recap",
                          {**everyone(404), "anonymous": 302}),
    "event_recaps.save_note": ("POST", "/cohorts/{cohort}/events/999999/recap/notes",
                               {**everyone(404), "anonymous": 302}),
    "event_recaps.upload": ("POST", "/cohorts/{cohort}/events/999999/recap/photos",
                            {**everyone(404), "anonymous": 302}),
    "event_recaps.remove": ("POST", "/cohorts/{cohort}/events/999999/recap/photos/1/remove",
                            {**everyone(404), "anonymous": 302}),
    "event_recaps.photo": ("GET", "/cohorts/{cohort}/events/999999/photos/1",
                           {**everyone(404), "anonymous": 302}),
    "event_recaps.thumb": ("GET", "/cohorts/{cohort}/events/999999/photos/1/thumb",
                           {**everyone(404), "anonymous": 302}),
    # 1:1 support: participants and the cohort's managers; patrons are not told of it.
    "support.index": ("GET", "/cohorts/{cohort}/support", {**MANAGERS, "participant": 200}),
    "support.publish": ("GET", "/cohorts/{cohort}/support/new", MANAGERS),
    "support.slot": ("GET", "/cohorts/{cohort}/support/slots/999999",
                     {**everyone(404), "anonymous": 302}),
    "support.book": ("POST", "/cohorts/{cohort}/support/slots/999999/book",
                     {**everyone(404), "anonymous": 302}),
    "support.cancel": ("POST", "/cohorts/{cohort}/support/slots/999999/cancel",
                       {**everyone(404), "anonymous": 302}),
    "support.withdraw": ("POST", "/cohorts/{cohort}/support/slots/999999/withdraw",
                         {**everyone(404), "anonymous": 302}),
    # the participant's own booking as a calendar file; booking for a managed participant
    # (rules in tests/support/test_calendar.py and test_managed.py)
    "support.slot_ics": ("GET", "/cohorts/{cohort}/support/slots/999999/session.ics",
                         {**everyone(404), "anonymous": 302}),
    "support.book_for": ("POST", "/cohorts/{cohort}/support/slots/999999/book-for",
                         {**everyone(404), "anonymous": 302}),
    "support.waitlist": ("POST", "/cohorts/{cohort}/support/waitlist",
                         {**everyone(403), "anonymous": 302, "participant": 400}),
    "support.agenda": ("GET", "/support/agenda", FACILITATORS),
    # after a session: private notes (the cohort's managers only) and action points (rules in
    # tests/support/test_sessions.py); an unknown booking or point is a 404 for everyone
    "support.notes": ("GET", "/cohorts/{cohort}/support/bookings/999999/notes",
                      {**everyone(404), "anonymous": 302}),
    "support.notes (save)": ("POST", "/cohorts/{cohort}/support/bookings/999999/notes",
                             {**everyone(404), "anonymous": 302}),
    "support.add_action_point": ("POST", "/cohorts/{cohort}/support/bookings/999999/action-points",
                                 {**everyone(404), "anonymous": 302}),
    "support.remove_action_point": ("POST",
                                    "/cohorts/{cohort}/support/action-points/999999/remove",
                                    {**everyone(404), "anonymous": 302}),
    "support.share_action_point": ("POST", "/cohorts/{cohort}/support/action-points/999999/share",
                                   {**everyone(404), "anonymous": 302}),
    "support.action_point_goal": ("POST", "/cohorts/{cohort}/support/action-points/999999/goal",
                                  {**everyone(404), "anonymous": 302}),
    # Nudges (rules in tests/nudges/test_notifications.py): only the participant's active
    # patron opens the form (an empty one is a 400); everyone else gets 404. The inbox is
    # everyone's own: unknown (or other people's) notification ids are 404.
    "nudges.send": ("GET", "/cohorts/{cohort}/people/{participant_membership}/nudge",
                    {**everyone(404), "anonymous": 302, "patron": 200}),
    "nudges.send (post)": ("POST", "/cohorts/{cohort}/people/{participant_membership}/nudge",
                           {**everyone(404), "anonymous": 302, "patron": 400}),
    "nudges.inbox": ("GET", "/notifications", SIGNED_IN),
    "nudges.mark_read": ("POST", "/notifications/999999/read", {**everyone(404), "anonymous": 302}),
    "nudges.mark_all_read": ("POST", "/notifications/read-all", {**everyone(303), "anonymous": 302}),
    "nudges.react": ("POST", "/notifications/999999/react", {**everyone(404), "anonymous": 302}),
    # What people get by email (tests/nudges/test_email_choices.py): their own choices; the
    # unsubscribe link needs no sign-in (a bad token is a 400 for everyone); the outbox is
    # for admins.
    "emails.preferences_page": ("GET", "/account/emails", SIGNED_IN),
    "emails.unsubscribe": ("GET", "/unsubscribe/not-a-token", everyone(400)),
    "emails.unsubscribe_confirm": ("POST", "/unsubscribe/not-a-token", everyone(400)),
    "emails.outbox": ("GET", "/admin/outbox", ADMIN_ONLY),
    "emails.retry": ("POST", "/admin/outbox/999999/retry", {**ADMIN_ONLY, "admin": 404}),
    # The skills baseline (rules in tests/baseline/): one's own pages, the same pages of
    # someone else's (readers: their patrons while shared, the managers; answering for
    # someone else only for a managed participant), and the managers' report and checkpoints.
    "baseline.overview": ("GET", "/cohorts/{cohort}/baseline", PARTICIPANT_ONLY),
    "baseline.overview (theirs)": ("GET", THEIRS,
                                   plan_readers(200)),
    "baseline.take": ("GET", "/cohorts/{cohort}/baseline/{checkpoint}", participant_only(302)),
    "baseline.take (theirs)": ("GET", THEIRS + "/{checkpoint}",
                               plan_writers(302)),
    "baseline.area": ("GET", "/cohorts/{cohort}/baseline/{checkpoint}/areas/listening-online",
                      PARTICIPANT_ONLY),
    "baseline.area (theirs)": ("POST", THEIRS + "/{checkpoint}/areas/listening-online",
                               plan_writers(302)),
    "baseline.questions": ("POST", "/cohorts/{cohort}/baseline/{checkpoint}/questions",
                           participant_only(302)),
    "baseline.questions (theirs)": ("GET", THEIRS + "/{checkpoint}/questions",
                                    plan_writers(200)),
    "baseline.review": ("GET", "/cohorts/{cohort}/baseline/{checkpoint}/review", PARTICIPANT_ONLY),
    "baseline.review (theirs)": ("GET", THEIRS + "/{checkpoint}/review",
                                 plan_writers(200)),
    # nothing rated yet: sending is explained (400)
    "baseline.submit": ("POST", "/cohorts/{cohort}/baseline/{checkpoint}/submit", participant_only(400)),
    "baseline.submit (theirs)": ("POST", THEIRS + "/{checkpoint}/submit",
                                 plan_writers(400)),
    "baseline.skip": ("POST", "/cohorts/{cohort}/baseline/skip", participant_only(302)),
    "baseline.sharing": ("POST", "/cohorts/{cohort}/baseline/sharing", participant_only(302)),
    "baseline.report": ("GET", "/cohorts/{cohort}/baseline/report", MANAGERS),
    "baseline.report_csv": ("GET", "/cohorts/{cohort}/baseline/report.csv", MANAGERS),
    "baseline.barriers_csv": ("GET", "/cohorts/{cohort}/baseline/barriers.csv", MANAGERS),
    # Insights (rules in tests/insights/): the cohort's managers; comparing cohorts needs
    # at least one cohort one manages (members and patrons manage none: 404).
    "insights.dashboard": ("GET", "/cohorts/{cohort}/insights", MANAGERS),
    "insights.people": ("GET", "/cohorts/{cohort}/insights/people", MANAGERS),
    "insights.roster_csv": ("GET", "/cohorts/{cohort}/insights/people.csv", MANAGERS),
    "insights.nudge": ("POST", "/cohorts/{cohort}/insights/people/{participant_membership}/nudge",
                       managers(303)),
    "insights.activity": ("GET", "/cohorts/{cohort}/insights/activity", MANAGERS),
    "insights.channels": ("GET", "/cohorts/{cohort}/insights/channels", MANAGERS),
    "insights.compare": ("GET", "/insights/compare", MANAGERS),
    # an empty form: no checkpoint chosen (400); the baseline is open, so closing works and
    # reopening it is a conflict (409)
    "baseline.open_checkpoint": ("POST", "/cohorts/{cohort}/baseline/checkpoints", managers(400)),
    "baseline.close_checkpoint": ("POST", "/cohorts/{cohort}/baseline/checkpoints/{checkpoint}/close",
                                  managers(302)),
    "baseline.reopen_checkpoint": ("POST", "/cohorts/{cohort}/baseline/checkpoints/{checkpoint}/reopen",
                                   managers(409)),
    # The cohort feed (rules in tests/community/): the cohort's participants and managers;
    # patrons and others get 404, and so does an unknown post for everyone. An empty post
    # is a 400.
    "community.feed": ("GET", "/cohorts/{cohort}/feed", FEED),
    "community.new_post": ("POST", "/cohorts/{cohort}/feed", {**FEED, "participant": 400,
                                                               "facilitator": 400, "admin": 400}),
    "community.reports": ("GET", "/cohorts/{cohort}/feed/reports", MANAGERS),
    **{f"community.{name}": (method, "/cohorts/{cohort}/feed/999999" + suffix,
                             {**everyone(404), "anonymous": 302})
       for name, method, suffix in (
           ("post", "GET", ""), ("edit", "GET", "/edit"), ("delete", "POST", "/delete"),
           ("kudos", "POST", "/kudos"), ("answered", "POST", "/answered"),
           ("comment", "POST", "/comments"), ("delete_comment", "POST", "/comments/1/delete"),
           ("hide_post", "POST", "/hide"), ("show_post", "POST", "/show"),
           ("hide_comment", "POST", "/comments/1/hide"),
           ("show_comment", "POST", "/comments/1/show"),
           ("report_post", "POST", "/report"), ("report_comment", "POST", "/comments/1/report"),
           ("edit_comment", "GET", "/comments/1/edit"), ("story", "POST", "/story"),
           ("feature", "POST", "/feature"), ("share_across", "POST", "/share-across"),
           ("image", "GET", "/images/1"), ("thumb", "GET", "/images/1/thumb"))},
    "community.dismiss_report": ("POST", "/cohorts/{cohort}/feed/reports/999999/dismiss",
                                 {**everyone(404), "anonymous": 302}),
    "community.stories": ("GET", "/cohorts/{cohort}/stories", FEED),
    # the world's cohort is not a volunteer cohort: no contributors' view
    "community.contributors": ("GET", "/cohorts/{cohort}/feed/contributors",
                               {**everyone(404), "anonymous": 302}),
    "community.volunteer": ("POST", "/cohorts/{cohort}/feed/volunteer", participant_only(302)),
    "community.share_goal": ("POST", "/cohorts/{cohort}/plan/goals/999999/share",
                             {**everyone(404), "anonymous": 302}),
    # Privacy and the audit log.
    "privacy.export": ("GET", "/account/export", SIGNED_IN),
    "privacy.delete_account": ("POST", "/account/delete", {**everyone(400), "anonymous": 302}),
    "privacy.deleted": ("GET", "/account/deleted", {**everyone(302), "anonymous": 200}),
    "privacy.delete_user": ("POST", "/admin/users/{outsider}/delete",
                            {**managers(404), "admin": 400}),
    "audit.admin_log": ("GET", "/admin/audit", ADMIN_ONLY),
    "audit.admin_log_csv": ("GET", "/admin/audit.csv", ADMIN_ONLY),
    "audit.cohort_log": ("GET", "/cohorts/{cohort}/audit", MANAGERS),
    "audit.cohort_log_csv": ("GET", "/cohorts/{cohort}/audit.csv", MANAGERS),
    # Insights exports
    "exports.index": ("GET", "/cohorts/{cohort}/exports", MANAGERS),
    "exports.download": ("GET", "/cohorts/{cohort}/exports/checkins.csv", MANAGERS),
    "exports.download (unknown export)": ("GET", "/cohorts/{cohort}/exports/notes.csv",
                                          managers(404)),
    # API tokens on the web (the token's own rules: tests/api/test_tokens.py)
    "api_tokens.tokens": ("GET", "/account/tokens", SIGNED_IN),
    "api_tokens.revoke": ("POST", "/account/tokens/999999/revoke",
                          {**everyone(404), "anonymous": 302}),
    "api_tokens.admin_tokens": ("GET", "/admin/tokens", ADMIN_ONLY),
    "api_tokens.admin_revoke": ("POST", "/admin/tokens/999999/revoke",
                                {**ADMIN_ONLY, "admin": 404}),
    # Webhooks: the cohort's managers (behaviour: tests/webhooks/); an empty add form is a
    # 400, and the world has no subscription 999999
    "webhooks.index": ("GET", "/cohorts/{cohort}/webhooks", MANAGERS),
    "webhooks.index (add)": ("POST", "/cohorts/{cohort}/webhooks", managers(400)),
    "webhooks.show": ("GET", "/cohorts/{cohort}/webhooks/999999", managers(404)),
    "webhooks.ping": ("POST", "/cohorts/{cohort}/webhooks/999999/ping", managers(404)),
    "webhooks.set_active": ("POST", "/cohorts/{cohort}/webhooks/999999/active", managers(404)),
    "webhooks.rotate": ("POST", "/cohorts/{cohort}/webhooks/999999/rotate", managers(404)),
    "webhooks.delete": ("POST", "/cohorts/{cohort}/webhooks/999999/delete", managers(404)),
    "webhooks.redeliver": ("POST", "/cohorts/{cohort}/webhooks/999999/deliveries/1/redeliver",
                           managers(404)),
    # The JSON API: a session cookie opens nothing there, whoever it belongs to (with
    # tokens: tests/api/test_access.py). The document is public.
    "api.me": ("GET", "/api/v1/me", everyone(401)),
    "api.time_summary": ("GET", "/api/v1/time", everyone(401)),
    "api.openapi": ("GET", "/api/v1/openapi.json", everyone(200)),
    "api.list_goals": ("GET", "/api/v1/goals", everyone(401)),
    "api.create_goal": ("POST", "/api/v1/goals", everyone(401)),
    "api.get_goal": ("GET", "/api/v1/goals/1", everyone(401)),
    "api.update_goal": ("PATCH", "/api/v1/goals/1", everyone(401)),
    "api.list_check_ins": ("GET", "/api/v1/check-ins", everyone(401)),
    "api.create_check_in": ("POST", "/api/v1/check-ins", everyone(401)),
    "api.list_web_activities": ("GET", "/api/v1/web-activities", everyone(401)),
    "api.create_web_activity": ("POST", "/api/v1/web-activities", everyone(401)),
    "api.list_events": ("GET", "/api/v1/events", everyone(401)),
    "api.answer_event": ("POST", "/api/v1/events/1/rsvp", everyone(401)),
    "api.list_notifications": ("GET", "/api/v1/notifications", everyone(401)),
    "api.read_notification": ("POST", "/api/v1/notifications/1/read", everyone(401)),
    "api.read_all_notifications": ("POST", "/api/v1/notifications/read-all", everyone(401)),
    "api.list_looked_after": ("GET", "/api/v1/participants", everyone(401)),
    # Patchy access (rules in tests/offline): installing is open to all; the device's sync
    # needs a session (signed out: a 401 problem) and an Idempotency-Key on each entry (428
    # without one).
    "offline.service_worker": ("GET", "/sw.js", everyone(200)),
    "offline.manifest": ("GET", "/manifest.webmanifest", everyone(200)),
    "offline.offline_page": ("GET", "/offline", everyone(200)),
    "offline.state": ("GET", "/sync/state", {**everyone(200), "anonymous": 401}),
    "offline.sync_check_in": ("POST", "/sync/check-ins", {**everyone(428), "anonymous": 401}),
    "offline.sync_web_activity": ("POST", "/sync/web-activities",
                                  {**everyone(428), "anonymous": 401}),
}


def test_matrix_covers_every_route(app, world):
    """Every URL rule (an endpoint may have several) is tried by an entry named after its
    endpoint ("endpoint" or "endpoint (variant)")."""
    adapter = app.url_map.bind("localhost")
    covered = set()
    for name, (method, template, _) in MATRIX.items():
        rule, _ = adapter.match(template.format(**world), method=method, return_rule=True)
        assert rule.endpoint == name.split(" ")[0], f"{name} reaches {rule.endpoint}"
        covered.add(rule.rule)
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert rules == covered, f"rules missing from the matrix: {sorted(rules - covered)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_route_answers_each_role_as_expected(world, role_client, endpoint, role):
    method, template, expected = MATRIX[endpoint]
    path = template.format(**world)
    client = role_client(role)
    if method == "GET":
        response = client.get(path)
    elif method == "POST":
        response = post_form(client, path, {})
    else:
        response = client.open(path, method=method)
    response.close()  # static files are streamed from an open file
    assert response.status_code == expected[role], (
        f"{method} {path} as {role}: {response.status_code}, expected {expected[role]}"
    )
    if expected[role] == 302 and role == "anonymous" and endpoint not in {
        "accounts.sign_out_everywhere", "accounts.logout"
    }:
        assert response.headers["Location"].startswith("/login")
