"""Rate limits shared through Redis: several workers must not allow several times the limit."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import sign_in

REDIS_URL = os.environ.get("DAP_TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="DAP_TEST_REDIS_URL is not set (CI sets it)")
def test_two_workers_share_one_login_limit(make_app, world):
    prefix = f"dap-test-{uuid.uuid4().hex[:8]}"
    overrides = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    worker_a = make_app(**overrides).test_client()
    worker_b = make_app(**overrides).test_client()
    statuses = []
    for i in range(12):
        worker = worker_a if i % 2 == 0 else worker_b
        statuses.append(sign_in(worker, "nobody@example.org", f"wrong-{i}-pw").status_code)
    # 10 per minute for one address across both workers, not 10 each.
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
