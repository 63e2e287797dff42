"""The claim's read of its accounts' profiles (``tasks_app.profiles_sql``), on the suite's backend
(SQLite, then PostgreSQL in ``make test-postgres``), against what the ORM reads."""

import pytest

from tasks_app.models import Profile
from tasks_app.profiles_sql import profiles_of

pytestmark = pytest.mark.django_db


def test_profiles_of_reads_each_accounts_profile_whole_as_the_orm_does(
    account, other_account, operator_account
):
    found = profiles_of(user_ids={account.user.id, other_account.user.id})
    assert set(found) == {account.user.id, other_account.user.id}
    for user_id, profile in found.items():
        expected = Profile.objects.get(user_id=user_id)
        assert {f.attname: getattr(profile, f.attname) for f in Profile._meta.concrete_fields} == {
            f.attname: getattr(expected, f.attname) for f in Profile._meta.concrete_fields
        }
        assert profile._state.adding is False
    assert profiles_of(user_ids=[]) == {}
