"""A real browser on the served app: the sign-in journey, accessibility (axe-core), dark
mode, a narrow phone screen and the keyboard's first stop."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PARTICIPANT = "participant@example.org"
COHORT = "Digital Action Plan: Northfield spring cohort"
BLOCKING = {"serious", "critical"}


def blocking_violations(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in BLOCKING]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]")
        for node in v["nodes"]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '')}")
            lines.append(f"        {node.get('html', '')[:200]}")
    return "\n".join(lines)


def assert_accessible(page, where: str) -> None:
    violations = blocking_violations(page)
    assert not violations, f"axe on {where}:\n{describe(violations)}"


def test_participant_signs_in_sees_cohort_and_signs_out(live_server, new_page):
    page = new_page()
    page.goto(f"{live_server}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    page.get_by_label("Email", exact=True).fill(PARTICIPANT)
    page.get_by_label("Password", exact=True).fill("dap-demo-2026")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server}/")
    expect(page).to_have_title("Dashboard · DAP")
    header = page.get_by_role("banner")
    expect(header.get_by_role("link", name="Alex Morgan")).to_be_visible()
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_have_text("Hello, Alex")
    expect(main.get_by_role("heading", name=COHORT)).to_be_visible()

    header.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")
    expect(page.get_by_role("banner").get_by_role("button", name="Sign out")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_sign_in_and_dashboard_have_no_serious_axe_violations(live_server, new_page, sign_in, scheme):
    page = new_page()
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{live_server}/login")
    assert_accessible(page, f"/login ({scheme})")

    # The same page showing its error summary and field errors (the danger colours).
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.get_by_label("Email", exact=True)).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, f"/login with errors ({scheme})")

    sign_in(page)
    assert_accessible(page, f"/ signed in ({scheme})")


@pytest.mark.parametrize("email", [PARTICIPANT, "admin@example.org"])
def test_no_horizontal_scroll_at_360_px(live_server, new_page, sign_in, email):
    page = new_page(viewport={"width": 360, "height": 740})

    def scroll_width() -> int:
        return page.evaluate("document.documentElement.scrollWidth")

    page.goto(f"{live_server}/login")
    assert scroll_width() <= 360, "/login scrolls sideways at 360 px"

    sign_in(page, email)
    assert scroll_width() <= 360, f"the dashboard of {email} scrolls sideways at 360 px"


def test_first_tab_focuses_the_visible_skip_link(live_server, new_page):
    page = new_page()
    page.goto(f"{live_server}/login")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).not_to_be_in_viewport()

    page.keyboard.press("Tab")

    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    expect(skip).to_be_in_viewport()

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
