import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounts.phones import mask_phone, normalize_mainland_phone
from tests.factories import UserFactory


@pytest.mark.parametrize("raw", ["13800138000", "+8613800138000", "86 138-0013-8000", "008613800138000"])
def test_mainland_numbers_normalise_to_e164(raw):
    assert normalize_mainland_phone(raw) == "+8613800138000"


@pytest.mark.parametrize("raw", ["", "12800138000", "1380013800", "+14155550100", "abcdefghijk", "138001380001"])
def test_other_numbers_are_refused_in_chinese(raw):
    with pytest.raises(ValidationError) as info:
        normalize_mainland_phone(raw)
    assert "手机号" in info.value.messages[0]


def test_public_name_never_shows_the_full_number(db):
    user = UserFactory(display_name="", phone="+8613800138000")
    assert user.public_name == "138****8000" == mask_phone(user.phone)


def test_phone_is_unique(db):
    UserFactory(phone="+8613800138000")
    with pytest.raises(IntegrityError):
        UserFactory(phone="+8613800138000")
