"""The cohort feed in a real browser: a participant shares a finished goal as a success story
in one click; another participant finds it in the feed, gives kudos and comments with an
@mention; the author is told in their inbox; the facilitator features the story and it shows
on the cohort's page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_pages import assert_accessible

pytestmark = pytest.mark.browser

JORDAN = "jordan.lee@example.org"
FACILITATOR = "facilitator@example.org"
COMMENT = "Brilliant work, @Alex Morgan: which of the three places was the busiest?"


def test_story_is_shared_cheered_and_featured(live_server, new_page, sign_in):
    # Alex finds their finished goal through "My plan" and shares it.
    alex = new_page()
    sign_in(alex)
    alex.get_by_role("link", name="My plan").first.click()
    expect(alex).to_have_url(re.compile(r"/cohorts/\d+/plan$"))
    cohort_id = re.search(r"/cohorts/(\d+)/", alex.url).group(1)
    done = alex.locator("li.goal-card.goal-done").first
    title = done.get_by_role("heading", level=3).inner_text()
    done.get_by_role("link", name=title, exact=True).click()
    expect(alex.get_by_role("heading", level=1)).to_have_text(title)
    alex.get_by_role("button", name="Share it with the cohort as a success story").click()

    expect(alex).to_have_url(re.compile(rf"/cohorts/{cohort_id}/feed/\d+$"))
    post_url = alex.url
    post_id = post_url.rsplit("/", 1)[1]
    expect(alex.locator(".flashes")).to_contain_text("Shared with your cohort as a success story")
    story = alex.locator(f"article#post-{post_id}")
    expect(story.locator(".badge-kind")).to_have_text("Success story")
    expect(story.locator(".user-content")).to_contain_text(f"I finished: {title}")
    expect(alex.get_by_role("heading", level=1)).to_have_text("Success story by Alex Morgan")
    assert_accessible(alex, "a success story, seen by its author")

    # Jordan reaches the feed from the cohort's page, finds the story and opens it.
    jordan = new_page()
    sign_in(jordan, JORDAN)
    jordan.goto(f"{live_server}/cohorts/{cohort_id}/home")
    jordan.get_by_role("link", name="The cohort feed").click()
    expect(jordan).to_have_url(f"{live_server}/cohorts/{cohort_id}/feed")
    expect(jordan.get_by_role("heading", level=1)).to_have_text("Cohort feed")
    item = jordan.locator(f"li#post-{post_id}")
    expect(item).to_contain_text(f"I finished: {title}")
    expect(item).to_contain_text("Alex Morgan")
    expect(item.locator(".badge-kind")).to_have_text("Success story")
    assert_accessible(jordan, "the cohort feed")
    item.get_by_role("link", name=re.compile(r"comments? on Alex Morgan’s success story")).click()
    expect(jordan).to_have_url(post_url)

    # Kudos, then a comment naming Alex.
    jordan.get_by_role("button", name="Give kudos").click()
    expect(jordan).to_have_url(f"{post_url}#kudos")
    expect(jordan.get_by_role("button", name="Take back my kudos")).to_be_visible()
    expect(jordan.get_by_role("button", name="Give kudos")).to_have_count(0)
    jordan.get_by_label("Add a comment").fill(COMMENT)
    jordan.get_by_role("button", name="Comment", exact=True).click()
    expect(jordan).to_have_url(re.compile(rf"/feed/{post_id}#comment-\d+$"))
    comments = jordan.get_by_role("region", name="Comments")
    mine = comments.locator("li.comment").filter(has_text="which of the three places")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("Jordan Lee")
    expect(mine).to_contain_text("Alex Morgan")
    assert_accessible(jordan, "a success story with a comment, seen by another participant")

    # Alex is told: the header counts it as unread, the inbox says who and where.
    alex.goto(f"{live_server}/cohorts/{cohort_id}/plan")
    inbox_link = alex.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile(r"^Notifications"))
    expect(inbox_link.locator(".badge-count")).to_contain_text("unread")
    inbox_link.click()
    expect(alex).to_have_url(f"{live_server}/notifications")
    told = alex.locator("ul.notifications > li").filter(
        has_text="Jordan Lee commented on your success story")
    expect(told).to_have_count(1)
    expect(told).to_contain_text("which of the three places")
    expect(told.get_by_role("link", name="Open")).to_have_attribute(
        "href", re.compile(rf"/cohorts/{cohort_id}/feed/{post_id}#comment-\d+$"))

    # Sam features the story; it shows on the cohort's page.
    sam = new_page()
    sign_in(sam, FACILITATOR)
    sam.goto(post_url)
    sam.get_by_role("button", name="Feature on the cohort page").click()
    expect(sam.locator(".flashes")).to_contain_text("Featured on the cohort's page.")
    expect(sam.get_by_role("button", name="Stop featuring")).to_be_visible()
    expect(sam.locator(f"article#post-{post_id} .meta")).to_contain_text("featured")

    sam.goto(f"{live_server}/cohorts/{cohort_id}/home")
    stories = sam.get_by_role("region", name="Success stories")
    featured = stories.locator(f"#story-{post_id}")
    expect(featured).to_contain_text(f"I finished: {title}")
    expect(featured).to_contain_text("Alex Morgan")
    expect(featured.locator(".badge", has_text="featured")).to_be_visible()
