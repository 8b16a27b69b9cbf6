"""Every endpoint declares who may use it (dap.policy)."""

from __future__ import annotations

from dap import policy


def test_every_endpoint_declares_an_access_rule(app):
    undeclared = sorted(
        endpoint for endpoint, view in app.view_functions.items()
        if policy.access_rule(view) is None
    )
    assert undeclared == [], f"endpoints without a policy rule: {undeclared}"


def test_rules_are_known_values(app):
    for view in app.view_functions.values():
        assert policy.access_rule(view) in set(policy.Access)
