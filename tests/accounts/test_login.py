"""The two ways in: operators with e-mail and password, members with a phone number and an SMS code."""

import re

from django.urls import reverse

from accounts.models import User
from accounts.sms import LocmemSmsBackend
from tests.factories import OperatorFactory


def test_an_operator_signs_in_with_email_and_password(client, shop):
    operator = OperatorFactory(shop=shop, user__email="op@shop.example").user
    page = client.get(reverse("account_login")).content.decode()
    assert 'name="password"' in page and "手机验证码登录" in page

    response = client.post(reverse("account_login"), {"login": "op@shop.example", "password": "op-password-123"})

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == operator.pk


def test_a_wrong_password_is_refused_with_a_message(client, shop):
    OperatorFactory(shop=shop, user__email="op@shop.example")

    response = client.post(reverse("account_login"), {"login": "op@shop.example", "password": "wrong"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert 'class="errorlist' in response.content.decode()


def test_an_empty_phone_is_a_form_error_not_a_crash(client, db):
    response = client.post(reverse("account_request_login_code"), {"phone": ""})

    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert not LocmemSmsBackend.outbox and not User.objects.exists()


def test_a_bad_phone_is_refused_in_chinese(client, db):
    response = client.post(reverse("account_request_login_code"), {"phone": "12345"})

    assert response.status_code == 200
    assert "手机号" in response.content.decode()
    assert not LocmemSmsBackend.outbox and not User.objects.exists()


def test_codes_are_six_digits(client, db):
    client.post(reverse("account_request_login_code"), {"phone": "13800138000"})

    assert re.search(r"(?<!\d)\d{6}(?!\d)", LocmemSmsBackend.outbox[-1].text)
    assert not User.objects.exists()  # no account until the code is confirmed (accounts.signin)


def test_the_signed_in_member_is_shown_by_public_name(client, db):
    from allauth.account.utils import user_display

    member = User.objects.create(phone="+8613800138000", username="+8613800138000", display_name="")
    assert user_display(member) == "138****8000"


def test_there_is_no_open_sign_up_form(client, db):
    response = client.post(reverse("account_signup"), {"phone": "13800138000", "password1": "x-Very-long-1"})

    assert response.status_code == 200
    assert "signup_closed" in response.templates[0].name or "关闭" in response.content.decode()
    assert not User.objects.exists()


def test_wechat_sign_in_may_create_a_member_while_sign_up_stays_closed(rf):
    from allauth.account.adapter import get_adapter
    from allauth.socialaccount import app_settings as social_settings
    from allauth.socialaccount.adapter import get_adapter as get_social_adapter

    request = rf.get("/")
    assert get_adapter(request).is_open_for_signup(request) is False
    assert get_social_adapter(request).is_open_for_signup(request, None) is True
    assert social_settings.EMAIL_REQUIRED is False
