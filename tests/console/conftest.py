import pytest
from django.test import Client

from apps.accounts.models import Role


@pytest.fixture
def console_for(make_member):
    """A browser session in the console for a staff member of `fleet` with `role`."""

    def make(fleet, role=Role.ADMIN):
        member = make_member(fleet, role, is_staff=True)
        browser = Client()
        browser.force_login(member)
        browser.user = member
        return browser

    return make


@pytest.fixture
def console(console_for, fleet):
    return console_for(fleet)
