"""SMS through the providers' official SDKs against local fakes: Aliyun Dysms and Tencent Cloud SMS.
Sign-in codes and notifications use their templates and the signature (the shop's where set); limits
per number and per address hold; a failed delivery is recorded and visible."""

import re
from types import SimpleNamespace

import pytest

from accounts.models import SmsRecord
from accounts.sms import (
    VERIFICATION_CODE,
    AliyunSmsBackend,
    SmsError,
    SmsRateLimited,
    TencentSmsBackend,
    send_sms,
)
from tests.fakes.sms import FakeAliyunSms, FakeTencentSms, acs3_signature, tc3_canonical_request, tc3_signature

pytestmark = pytest.mark.django_db
PHONE = "+8613800138000"


# --- The providers' published signature examples --------------------------------------------------------


def test_aliyun_v3_signature_matches_the_published_example():
    """Alibaba Cloud's "V3版本请求体&签名机制" fixed-parameter example (RunInstances, ecs.cn-shanghai)."""
    from alibabacloud_tea_openapi.utils import Utils

    headers = {
        "host": "ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action": "RunInstances",
        "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-acs-date": "2023-10-26T10:22:32Z",
        "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
        "x-acs-version": "2014-05-26",
    }
    query = {"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"}
    published = "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    ours = acs3_signature(
        secret="YourAccessKeySecret", method="POST", path="/", query=query, headers=headers, signed=sorted(headers),
        payload_hash=headers["x-acs-content-sha256"],
    )  # fmt: skip
    assert ours == published  # the fake verifies as Alibaba Cloud does
    request = SimpleNamespace(pathname="/", query=query, headers=headers, method="POST")
    sdk = Utils.get_authorization(
        request, "ACS3-HMAC-SHA256", headers["x-acs-content-sha256"], "YourAccessKeyId", "YourAccessKeySecret"
    )
    assert sdk.endswith(f"Signature={published}")  # and the SDK the backend uses signs as published


def test_tencent_tc3_signature_matches_the_published_example():
    """Tencent Cloud's "签名方法 v3" example (cvm DescribeInstances, 2019-02-25, masked SecretKey as printed)."""
    from tencentcloud.common.sign import Sign

    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    canonical = tc3_canonical_request(
        content_type="application/json; charset=utf-8", host="cvm.tencentcloudapi.com", payload=payload
    )
    assert canonical.endswith("35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
    published = "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    secret = "Gu5t9xGARNpq86cd98joQYCN3*******"
    assert (
        tc3_signature(secret_key=secret, timestamp=1551113065, service="cvm", canonical_request=canonical) == published
    )
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            "1551113065",
            "2019-02-25/cvm/tc3_request",
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
        ]
    )
    assert Sign.sign_tc3(secret, "2019-02-25", "cvm", to_sign) == published


# --- Aliyun ---------------------------------------------------------------------------------------------------


@pytest.fixture
def aliyun(settings):
    fake = FakeAliyunSms(access_key_id="LTAI5tTestKeyId", access_key_secret="test-secret-aliyun").start()
    fake.sign_names = {"社群", "好物社"}
    fake.templates = {
        "SMS_100000001": "您的验证码是${code}，10分钟内有效。请勿告诉他人。",
        "SMS_100000002": "${shop}：${title}，${body}",
        "SMS_100000003": "您在${shop}的订单已发货，请留意收货。",
    }
    settings.SMS_BACKEND = "accounts.sms.AliyunSmsBackend"
    settings.ALIYUN_SMS_ENDPOINT = fake.url
    settings.ALIYUN_ACCESS_KEY_ID, settings.ALIYUN_ACCESS_KEY_SECRET = "LTAI5tTestKeyId", "test-secret-aliyun"
    settings.SMS_SIGN_NAME = "社群"
    settings.SMS_TEMPLATES = {
        "verification_code": "SMS_100000001",
        "notification": "SMS_100000002",
        "order_shipped": {"id": "SMS_100000003", "params": ["shop"]},
    }
    yield fake
    fake.stop()


def _request_code(client=None, phone="13800138000", ip="203.0.113.5"):
    """A person asking for a sign-in code (each in their own browser session unless `client` is given)."""
    from django.test import Client

    return (client or Client()).post("/accounts/login/code/", {"phone": phone}, REMOTE_ADDR=ip)


def test_a_sign_in_code_goes_out_through_aliyun_with_the_platform_signature(client, aliyun):
    response = _request_code(client)
    assert response.status_code == 302
    [sent] = aliyun.sent
    assert sent.phone == "13800138000" and sent.sign_name == "社群" and sent.template == "SMS_100000001"
    assert re.fullmatch(r"【社群】您的验证码是\d{6}，10分钟内有效。请勿告诉他人。", sent.text)
    record = SmsRecord.objects.get()
    assert (record.status, record.kind, record.backend, record.ip) == (
        "sent",
        VERIFICATION_CODE,
        "aliyun",
        "203.0.113.5",
    )
    assert record.provider_id.endswith("^0")


def test_a_notification_uses_its_template_and_the_shops_signature(aliyun, shop):
    from notifications.channels import OutgoingMessage, SmsBackend

    shop.settings.sms_sign_name = "好物社"
    shop.settings.save()
    member = SimpleNamespace(phone=PHONE)
    common = dict(user=member, shop_name=shop.name, category="transactional", url="", shop_id=shop.pk)
    SmsBackend().send(
        OutgoingMessage(key="n1:sms", kind="order_shipped", title="商家已发货", body="订单已发货", **common)
    )
    SmsBackend().send(
        OutgoingMessage(key="n2:sms", kind="order_paid", title="付款成功", body="订单 A1 已付款 ¥9.90。", **common)
    )
    assert [s.text for s in aliyun.sent] == [
        f"【好物社】您在{shop.name}的订单已发货，请留意收货。",
        f"【好物社】{shop.name}：付款成功，订单 A1 已付款 ¥9.90。",
    ]
    assert aliyun.sent[0].client_ref == "n1:sms"  # the delivery's key, for the provider to deduplicate on


def test_refusals_are_recorded_and_permanent_ones_fail_the_delivery(aliyun, shop):
    from notifications.channels import OutgoingMessage, PermanentError, SmsBackend

    aliyun.sign_names.discard("社群")
    with pytest.raises(PermanentError, match="isv.SMS_SIGNATURE_ILLEGAL"):
        SmsBackend().send(
            OutgoingMessage(key="k", user=SimpleNamespace(phone=PHONE), shop_name="店", category="transactional",
                            kind="order_paid", title="付款成功", body="…", url="", shop_id=shop.pk)
        )  # fmt: skip
    record = SmsRecord.objects.get()
    assert record.status == "failed" and record.error_code == "isv.SMS_SIGNATURE_ILLEGAL"


def test_a_wrong_access_key_secret_is_refused_by_the_signature_check(aliyun, settings):
    settings.ALIYUN_ACCESS_KEY_SECRET = "not-the-secret"
    with pytest.raises(SmsError) as refused:
        AliyunSmsBackend().send(_message())
    assert refused.value.permanent and "SignatureDoesNotMatch" in str(refused.value)
    assert aliyun.sent == []


def test_a_hanging_provider_is_a_transient_failure(aliyun, settings):
    settings.SMS_HTTP_TIMEOUT = 0.5
    aliyun.hold()
    try:
        with pytest.raises(SmsError) as failed:
            AliyunSmsBackend().send(_message())
    finally:
        aliyun.release()
    assert not failed.value.permanent


def _message(kind=VERIFICATION_CODE, phone=PHONE):
    from accounts.sms import SmsMessage

    return SmsMessage(phone=phone, text="验证码 123456", kind=kind, params={"code": "123456"})


# --- Limits ----------------------------------------------------------------------------------------------------


def test_one_code_a_minute_per_number_refused_before_the_provider(client, aliyun):
    assert _request_code(client).status_code == 302
    again = _request_code()  # another session (or device) asking for the same number
    assert again.status_code == 200 and "验证码发送太频繁" in again.content.decode()
    with pytest.raises(SmsRateLimited):
        send_sms(PHONE, "x", kind=VERIFICATION_CODE, params={"code": "123456"})
    assert len(aliyun.sent) == 1
    assert SmsRecord.objects.filter(status="limited").count() == 1


def test_codes_per_address_are_capped_across_numbers(client, aliyun, settings):
    settings.SMS_LIMITS = {**settings.SMS_LIMITS, "verification_code": {"number": ["1/60"], "ip": ["3/3600"]}}
    for n in range(3):
        assert _request_code(phone=f"1380013800{n}", ip="198.51.100.7").status_code == 302
    refused = _request_code(phone="13800138009", ip="198.51.100.7")
    assert "验证码发送太频繁" in refused.content.decode()
    assert _request_code(phone="13800138009", ip="198.51.100.8").status_code == 302  # another address
    assert len(aliyun.sent) == 4


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_to_one_number_stay_within_the_limit(aliyun, settings):
    """Counted with Redis INCR: twelve simultaneous notifications, a cap of five a day."""
    from django.db import connections

    from tests.race import race

    settings.SMS_LIMITS = {"*": {"number": ["5/86400"]}}
    aliyun.templates["SMS_100000002"] = "${shop}：${title}，${body}"

    def one(i):
        try:
            return send_sms(PHONE, "hi", kind="order_paid", params={"shop": "店", "title": "t", "body": str(i)})
        except SmsRateLimited:
            return "limited"
        finally:
            connections.close_all()

    results = race(12, one)
    assert results.count("limited") == 7 and len(aliyun.sent) == 5


# --- Tencent Cloud ---------------------------------------------------------------------------------------------


@pytest.fixture
def tencent(settings):
    fake = FakeTencentSms(
        secret_id="AKIDtestSecretId", secret_key="test-secret-tencent", sdk_app_id="1400000001"
    ).start()
    fake.sign_names = {"社群", "好物社"}
    fake.templates = {"100001": "您的验证码是{1}，10分钟内有效。", "100002": "{1}：{2}，{3}"}
    settings.SMS_BACKEND = "accounts.sms.TencentSmsBackend"
    settings.TENCENT_SMS_ENDPOINT = fake.url
    settings.TENCENTCLOUD_SECRET_ID, settings.TENCENTCLOUD_SECRET_KEY = "AKIDtestSecretId", "test-secret-tencent"
    settings.TENCENT_SMS_SDK_APP_ID = "1400000001"
    settings.SMS_SIGN_NAME = "社群"
    settings.SMS_TEMPLATES = {"verification_code": "100001", "notification": "100002"}
    yield fake
    fake.stop()


def test_a_sign_in_code_goes_out_through_tencent_cloud(client, tencent):
    assert _request_code(client).status_code == 302
    [sent] = tencent.sent
    assert sent.phone == PHONE and sent.template == "100001"
    assert re.fullmatch(r"【社群】您的验证码是\d{6}，10分钟内有效。", sent.text)
    assert SmsRecord.objects.get().provider_id.startswith("2028:")


def test_tencent_notification_with_the_shops_signature_and_ordered_variables(tencent, shop):
    send_sms(
        PHONE,
        "付款成功",
        kind="order_paid",
        params={"shop": "好物社", "title": "付款成功", "body": "已付款"},
        sign_name="好物社",
    )
    assert tencent.sent[0].text == "【好物社】好物社：付款成功，已付款"


@pytest.mark.parametrize(
    "change, code, permanent",
    [
        ({"templates": {}}, "FailedOperation.TemplateIncorrectOrUnapproved", True),
        ({"sign_names": set()}, "FailedOperation.SignatureIncorrectOrUnapproved", True),
    ],
)
def test_tencent_refusals_carry_their_codes(tencent, change, code, permanent):
    for name, value in change.items():
        setattr(tencent, name, value)
    with pytest.raises(SmsError) as refused:
        TencentSmsBackend().send(_message())
    assert refused.value.code == code and refused.value.permanent is permanent


def test_tencent_per_number_flow_control_is_transient(tencent):
    TencentSmsBackend().send(_message(kind="order_paid"))
    with pytest.raises(SmsError) as refused:
        TencentSmsBackend().send(_message(kind="order_paid"))
    assert refused.value.code == "LimitExceeded.PhoneNumberThirtySecondLimit" and not refused.value.permanent


def test_tencent_wrong_secret_fails_authentication(tencent, settings):
    settings.TENCENTCLOUD_SECRET_KEY = "wrong"
    with pytest.raises(SmsError) as refused:
        TencentSmsBackend().send(_message())
    assert refused.value.code == "AuthFailure.SignatureFailure" and refused.value.permanent
