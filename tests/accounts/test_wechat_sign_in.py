"""WeChat sign-in inside WeChat's browser against a local fake of WeChat's web authorisation: one tap for a
known member (snsapi_base, silent), nickname and avatar asked once of a new one (snsapi_userinfo), and
binding to an existing phone account when the member confirms; the profile page; nicknames shown."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.test import Client

from accounts.models import User
from accounts.sms import LocmemSmsBackend
from tests.factories import GroupFactory, InviteLinkFactory, UserFactory
from tests.fakes.wechat import FakeWechat, WechatUser

pytestmark = pytest.mark.django_db
APP = ("wx-official-app", "official-secret")
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 "
    "MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)


@pytest.fixture
def wechat(settings):
    fake = FakeWechat(official=APP).start()
    settings.WEIXIN_LOGIN_ENABLED = True
    settings.WECHAT_API_BASE = fake.url
    settings.WEIXIN_APP_ID, settings.WEIXIN_APP_SECRET = APP
    settings.SOCIALACCOUNT_PROVIDERS = {
        "weixin": {
            "APP": {"client_id": APP[0], "secret": APP[1]},
            "SCOPE": ["snsapi_base"],
            "AUTHORIZE_URL": f"{fake.url}/connect/oauth2/authorize",
        }
    }
    yield fake
    fake.stop()


def phone_in_wechat() -> Client:
    return Client(HTTP_USER_AGENT=WECHAT_UA)


def tap_wechat_login(client: Client, fake: FakeWechat, next_url: str = "/m/groups/"):
    """The member taps 微信一键登录; the browser follows WeChat's redirects (the fake) back to us.
    Returns the last response of ours and the scopes WeChat was asked for."""
    response = client.post(f"/accounts/weixin/login/?process=login&next={next_url}")
    scopes = []
    while response.status_code == 302:
        location = response["Location"]
        if location.startswith(fake.url):
            query = parse_qs(urlsplit(location).query)
            scopes.append(query["scope"][0])
            assert location.endswith("#wechat_redirect") and query["appid"] == [APP[0]]
            answer = requests.get(location.split("#")[0], allow_redirects=False, timeout=5)
            if answer.status_code == 200:  # WeChat's consent page (snsapi_userinfo): the member taps 允许
                fields = dict(re.findall(r"name='([^']+)' value='([^']*)'", answer.text))
                answer = requests.post(
                    f"{fake.url}/connect/oauth2/allow", data=fields, allow_redirects=False, timeout=5
                )
            location = answer.headers["Location"]
        parts = urlsplit(location)
        response = client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
    return response, scopes


def test_the_one_tap_button_shows_only_inside_wechat(wechat, settings):
    assert "微信一键登录" in phone_in_wechat().get("/accounts/login/code/").content.decode()
    assert "微信一键登录" not in Client().get("/accounts/login/code/").content.decode()
    settings.WEIXIN_LOGIN_ENABLED = False
    assert "微信一键登录" not in phone_in_wechat().get("/accounts/login/code/").content.decode()
    assert phone_in_wechat().post("/accounts/weixin/login/").status_code == 404


def test_a_new_member_shares_nickname_and_avatar_once_then_chooses_to_be_new(wechat):
    client = phone_in_wechat()
    response, scopes = tap_wechat_login(client, wechat)
    assert scopes == ["snsapi_base", "snsapi_userinfo"]  # silent first; new here, so WeChat asks once
    assert response.status_code == 200 and "你好，小林" in response.content.decode()
    assert not User.objects.filter(username__startswith="wx_").exists()  # nothing made before they choose

    done = client.post("/accounts/3rdparty/signup/", {"choice": "new"})
    assert done.status_code == 302 and done["Location"] == "/m/groups/"
    member = User.objects.get(username=f"wx_{wechat.browser_user.openid}")
    assert member.display_name == "小林" and member.avatar_url == wechat.browser_user.headimgurl
    assert SocialAccount.objects.get(user=member, provider="weixin").uid == wechat.browser_user.openid
    assert "小林" in client.get("/m/groups/").content.decode()  # signed in, by their nickname


def test_a_known_member_signs_in_with_one_tap_silently(wechat):
    member = UserFactory(display_name="老会员")
    SocialAccount.objects.create(user=member, provider="weixin", uid=wechat.browser_user.openid, extra_data={})
    client = phone_in_wechat()
    response, scopes = tap_wechat_login(client, wechat, next_url="/m/orders/")
    assert scopes == ["snsapi_base"]  # no WeChat screen at all
    assert response.status_code == 200 and response.wsgi_request.path == "/m/orders/"  # where they were going
    assert int(client.session["_auth_user_id"]) == member.pk


def test_binding_the_wechat_to_an_existing_phone_account(wechat):
    phone_member = UserFactory(phone="+8613800138000", display_name="")
    client = phone_in_wechat()
    response, _scopes = tap_wechat_login(client, wechat)
    assert response.status_code == 200
    to_login = client.post("/accounts/3rdparty/signup/", {"choice": "bind"})
    assert to_login["Location"] == "/accounts/login/code/?next=/accounts/weixin/bind/"

    # The member proves the phone number with an SMS code, as they always sign in.
    confirm_url = client.post("/accounts/login/code/", {"phone": "13800138000", "next": "/accounts/weixin/bind/"})[
        "Location"
    ]
    code = re.search(r"\d{6}", LocmemSmsBackend.outbox[-1].text).group(0)
    signed_in = client.post(confirm_url, {"code": code, "next": "/accounts/weixin/bind/"})
    assert signed_in["Location"] == "/accounts/weixin/bind/"
    confirm = client.get("/accounts/weixin/bind/")
    assert "小林" in confirm.content.decode() and "138****8000" in confirm.content.decode()
    client.post("/accounts/weixin/bind/")

    account = SocialAccount.objects.get(provider="weixin", uid=wechat.browser_user.openid)
    assert account.user == phone_member
    phone_member.refresh_from_db()
    assert phone_member.display_name == "小林"  # they had none: WeChat's is taken
    assert User.objects.count() == 1  # no second account for the same person

    # Next time, in WeChat: one tap, and it is the phone account.
    again = phone_in_wechat()
    _response, scopes = tap_wechat_login(again, wechat)
    assert scopes == ["snsapi_base"] and int(again.session["_auth_user_id"]) == phone_member.pk


def test_a_wechat_already_bound_elsewhere_is_not_bound_twice(wechat):
    other = UserFactory()
    client = phone_in_wechat()
    tap_wechat_login(client, wechat)
    SocialAccount.objects.create(user=other, provider="weixin", uid=wechat.browser_user.openid, extra_data={})
    client.force_login(UserFactory())
    response = client.post("/accounts/weixin/bind/", follow=True)
    assert "这个微信已经绑定了另一个账户" in response.content.decode()
    assert SocialAccount.objects.get(uid=wechat.browser_user.openid).user == other


def test_two_wechat_users_get_two_members(wechat):
    tap_wechat_login(first := phone_in_wechat(), wechat)
    first.post("/accounts/3rdparty/signup/", {"choice": "new"})
    wechat.browser_user = WechatUser("oWX-test-openid-0002", "阿梅", "")
    tap_wechat_login(second := phone_in_wechat(), wechat)
    second.post("/accounts/3rdparty/signup/", {"choice": "new"})
    assert sorted(User.objects.values_list("display_name", flat=True)) == ["小林", "阿梅"]


# --- Profile: nickname and avatar, shown to others ---------------------------------------------------------


def test_members_set_their_nickname_and_avatar(client):
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    member = UserFactory(display_name="")
    client.force_login(member)
    assert client.get("/m/me/").status_code == 200
    buffer = BytesIO()
    Image.new("RGB", (64, 64), "#07c160").save(buffer, "PNG")
    picture = SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")
    response = client.post("/m/me/", {"display_name": "  小 美  ", "avatar": picture})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.display_name == "小 美" and member.avatar and member.avatar_src.startswith("/media/avatars/")

    fake = SimpleUploadedFile("x.png", b"<html>not an image</html>", content_type="image/png")
    refused = client.post("/m/me/", {"display_name": "x", "avatar": fake})
    assert refused.status_code == 200 and refused.context["form"].errors["avatar"]


def test_share_pages_use_the_nickname_never_a_masked_phone_when_there_is_one(client):
    inviter = UserFactory(phone="+8613912345678", display_name="小林")
    link = InviteLinkFactory(group=GroupFactory(), inviter=inviter)
    html = client.get(f"/m/j/{link.code}/").content.decode()
    assert "小林" in html and "139****5678" not in html
    inviter.display_name = ""
    inviter.save()
    assert "139****5678" in client.get(f"/m/j/{link.code}/").content.decode()


def test_profile_requires_sign_in(client):
    assert client.get("/m/me/").status_code == 302
