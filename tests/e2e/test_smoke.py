from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_login_page_refuses_a_wrong_password(new_page):
    page = new_page()
    page.goto("/login/")
    page.fill("#id_username", "nobody@example.com")
    page.fill("#id_password", "wrong-password-123")
    page.click("button[type=submit]")

    assert page.locator("[role=alert]").is_visible()
    assert "/login/" in page.url
