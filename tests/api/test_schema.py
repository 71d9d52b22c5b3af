"""The OpenAPI schema is complete and valid, and generating it raises no drf-spectacular warning."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from openapi_spec_validator import validate

EXPECTED_OPERATIONS = {
    ("/api/v1/links/{code}/", "get"),
    ("/api/v1/links/{code}/join/", "post"),
    ("/api/v1/me/memberships/", "get"),
    ("/api/v1/me/memberships/{id}/leave/", "post"),
    ("/api/v1/me/groups/{id}/invite-link/", "post"),
    ("/api/v1/me/groups/{id}/space/contact/", "get"),
    ("/api/v1/me/groups/{id}/space/posts/", "get"),
    ("/api/v1/me/groups/{id}/space/posts/", "post"),
    ("/api/v1/me/groups/{id}/space/posts/{post}/", "get"),
    ("/api/v1/me/groups/{id}/space/posts/{post}/answered/", "post"),
    ("/api/v1/me/groups/{id}/space/posts/{post}/hide/", "post"),
    ("/api/v1/me/groups/{id}/space/posts/{post}/replies/", "post"),
    ("/api/v1/me/groups/{id}/space/posts/{post}/replies/{comment}/hide/", "post"),
    # a group's 群主/管理员 and 群规 appeals (groups/steward_api.py)
    ("/api/v1/me/groups/{id}/manage/applicants/{membership_pk}/{action}/", "post"),
    ("/api/v1/me/groups/{id}/manage/members/{membership_pk}/warn/", "post"),
    ("/api/v1/me/groups/{id}/manage/members/{membership_pk}/remove/", "post"),
    ("/api/v1/me/warnings/{id}/appeal/", "post"),
    ("/api/v1/shop/appeals/{id}/decide/", "post"),
    ("/api/v1/shop/space/replies/{id}/hide/", "post"),
    ("/api/v1/shop/space/replies/{id}/restore/", "post"),
    ("/api/v1/shop/groups/{id}/playbook/", "get"),
    ("/api/v1/shop/groups/{id}/space/posts/", "get"),
    ("/api/v1/shop/groups/{id}/space/posts/", "post"),
    ("/api/v1/shop/space/posts/{id}/answered/", "post"),
    ("/api/v1/shop/space/posts/{id}/hide/", "post"),
    ("/api/v1/shop/checkins/{id}/hide/", "post"),
    ("/api/v1/shop/checkins/{id}/show/", "post"),
    ("/api/v1/shop/space/posts/{id}/replies/", "post"),
    ("/api/v1/shop/space/posts/{id}/restore/", "post"),
    ("/api/v1/shop/space/reply-times/groups/", "get"),
    ("/api/v1/shop/space/reply-times/responders/", "get"),
    # the complaints and suggestions box (groups/feedback_api.py)
    ("/api/v1/me/groups/{id}/feedback/", "post"),
    ("/api/v1/me/feedback/", "get"),
    ("/api/v1/me/feedback/{id}/", "get"),
    ("/api/v1/shop/feedback/", "get"),
    ("/api/v1/shop/feedback/{id}/", "get"),
    ("/api/v1/shop/feedback/{id}/route/", "post"),
    ("/api/v1/shop/feedback/{id}/answer/", "post"),
    ("/api/v1/shop/feedback/{id}/close/", "post"),
    ("/api/v1/shop/feedback-departments/", "get"),
    ("/api/v1/shop/feedback-departments/", "post"),
    ("/api/v1/shop/groups/", "get"),
    ("/api/v1/shop/groups/", "post"),
    ("/api/v1/shop/groups/{id}/", "get"),
    ("/api/v1/shop/groups/{id}/", "patch"),
    ("/api/v1/shop/groups/{id}/transition/", "post"),
    ("/api/v1/shop/groups/{id}/members/", "get"),
    ("/api/v1/shop/groups/{id}/links/", "get"),
    ("/api/v1/shop/groups/{id}/links/", "post"),
    ("/api/v1/shop/members/{id}/{action}/", "post"),
    ("/api/v1/shop/links/{id}/revoke/", "post"),
    ("/api/v1/shop/series/", "get"),
    ("/api/v1/shop/series/", "post"),
    ("/api/v1/shop/series/{id}/", "get"),
    # orders (orders/api_urls.py)
    ("/api/v1/me/groups/{id}/products/", "get"),
    ("/api/v1/me/groups/{id}/products/{product_id}/", "get"),
    ("/api/v1/me/groups/{id}/pickup-points/", "get"),
    ("/api/v1/me/groups/{id}/orders/", "post"),
    ("/api/v1/me/groups/{id}/quote/", "post"),
    ("/api/v1/me/orders/", "get"),
    ("/api/v1/me/orders/{id}/", "get"),
    ("/api/v1/me/orders/{id}/pay/", "post"),
    ("/api/v1/me/orders/{id}/cancel/", "post"),
    ("/api/v1/me/orders/{id}/request-refund/", "post"),
    ("/api/v1/me/orders/{id}/confirm-receipt/", "post"),
    ("/api/v1/me/orders/{id}/after-sales/", "post"),
    ("/api/v1/shop/products/", "get"),
    ("/api/v1/shop/products/", "post"),
    ("/api/v1/shop/products/{id}/", "get"),
    ("/api/v1/shop/products/{id}/", "patch"),
    ("/api/v1/shop/products/{id}/images/", "post"),
    ("/api/v1/shop/products/{id}/skus/", "post"),
    ("/api/v1/shop/skus/{id}/", "get"),
    ("/api/v1/shop/skus/{id}/", "patch"),
    ("/api/v1/shop/skus/{id}/stock/", "post"),
    ("/api/v1/shop/pickup-points/", "get"),
    ("/api/v1/shop/pickup-points/", "post"),
    ("/api/v1/shop/pickup-points/{id}/", "get"),
    ("/api/v1/shop/pickup-points/{id}/", "patch"),
    ("/api/v1/shop/orders/", "get"),
    ("/api/v1/shop/orders/{id}/", "get"),
    ("/api/v1/shop/orders/{id}/ship/", "post"),
    ("/api/v1/shop/orders/{id}/cancel/", "post"),
    ("/api/v1/shop/orders/{id}/refund/", "post"),
    ("/api/v1/shop/orders/{id}/approve-refund/", "post"),
    ("/api/v1/shop/orders/{id}/reject-refund/", "post"),
    ("/api/v1/shop/after-sales/", "get"),
    ("/api/v1/shop/after-sales/{id}/", "get"),
    ("/api/v1/shop/after-sales/{id}/close/", "post"),
    # referrals (referrals/api_urls.py)
    ("/api/v1/me/referrals/", "get"),
    ("/api/v1/me/referral-rewards/", "get"),
    ("/api/v1/me/commission/", "get"),
    ("/api/v1/me/withdrawals/", "get"),
    ("/api/v1/me/withdrawals/", "post"),
    ("/api/v1/shop/referral-rewards/", "get"),
    ("/api/v1/shop/steward-rules/", "get"),
    ("/api/v1/shop/steward-rules/", "put"),
    ("/api/v1/shop/steward-rewards/", "get"),
    ("/api/v1/shop/withdrawals/", "get"),
    ("/api/v1/shop/withdrawals/{id}/{action}/", "post"),
    ("/api/v1/shop/referrals/viral/", "get"),
    # notifications (notifications/api_urls.py)
    ("/api/v1/me/notifications/", "get"),
    ("/api/v1/me/notifications/unread-count/", "get"),
    ("/api/v1/me/notifications/read-all/", "post"),
    ("/api/v1/me/notifications/{id}/", "get"),
    ("/api/v1/me/notifications/{id}/read/", "post"),
    ("/api/v1/me/notification-preferences/", "get"),
    ("/api/v1/me/notification-preferences/{shop_id}/", "get"),
    ("/api/v1/me/notification-preferences/{shop_id}/", "patch"),
    ("/api/v1/me/wechat-subscriptions/", "post"),
    # 拼 拼团 (campaigns/api_urls.py)
    ("/api/v1/me/campaigns/{id}/", "get"),
    ("/api/v1/me/campaigns/{id}/teams/", "get"),
    ("/api/v1/me/campaigns/{id}/teams/", "post"),
    ("/api/v1/me/campaigns/{id}/teams/{team_pk}/", "get"),
    ("/api/v1/me/campaigns/{id}/teams/{team_pk}/join/", "post"),
    ("/api/v1/me/teams/", "get"),
    # issue 15: the campaigns running in my group, with my part; my own participations
    ("/api/v1/me/groups/{id}/campaigns/", "get"),
    ("/api/v1/me/participations/", "get"),
    # 帮 助力 and 砍 砍价 (campaigns/types/help/api_urls.py, campaigns/types/bargain/api_urls.py)
    ("/api/v1/me/campaigns/{id}/help-tasks/", "post"),
    ("/api/v1/me/help-tasks/{id}/", "get"),
    ("/api/v1/me/help-tasks/{id}/help/", "post"),
    ("/api/v1/me/help-tasks/{id}/claim/", "post"),
    ("/api/v1/me/campaigns/{id}/bargains/", "post"),
    ("/api/v1/me/bargains/{id}/", "get"),
    ("/api/v1/me/bargains/{id}/cut/", "post"),
    ("/api/v1/me/bargains/{id}/buy/", "post"),
    # 券 coupons, 送 gifts, 秒杀 flash sales and 打卡 check-ins (their types' api_urls.py)
    ("/api/v1/me/campaigns/{id}/flash-orders/", "get"),
    ("/api/v1/me/campaigns/{id}/flash-orders/", "post"),
    ("/api/v1/me/coupon-centre/", "get"),
    ("/api/v1/me/coupons/", "get"),
    ("/api/v1/me/campaigns/{id}/coupon/claim/", "post"),
    ("/api/v1/me/campaigns/{id}/gifts/", "post"),
    ("/api/v1/me/campaigns/{id}/treats/", "post"),
    ("/api/v1/me/gifts/", "get"),
    ("/api/v1/me/gifts/{token}/", "get"),
    ("/api/v1/me/gifts/{token}/claim/", "post"),
    ("/api/v1/me/campaigns/{id}/checkin/", "get"),
    ("/api/v1/me/campaigns/{id}/checkin/", "post"),
    ("/api/v1/me/campaigns/{id}/checkin/makeup/", "post"),
    ("/api/v1/me/campaigns/{id}/swap/listings/", "get"),
    ("/api/v1/me/campaigns/{id}/swap/listings/", "post"),
    ("/api/v1/me/swap/listings/{listing}/", "get"),
    ("/api/v1/me/swap/listings/{listing}/offers/", "post"),
    ("/api/v1/me/swap/listings/{listing}/report/", "post"),
    ("/api/v1/me/swap/swaps/", "get"),
    ("/api/v1/me/swap/swaps/{swap}/", "get"),
    ("/api/v1/me/swap/swaps/{swap}/{action}/", "post"),
    ("/api/v1/me/campaigns/{id}/contest/", "get"),
    # segments and broadcasts (segments/api_urls.py)
    ("/api/v1/shop/segments/", "get"),
    ("/api/v1/shop/segments/", "post"),
    ("/api/v1/shop/segments/{id}/", "get"),
    ("/api/v1/shop/segments/{id}/members/", "get"),
    ("/api/v1/shop/segments/{id}/invite/", "post"),
    ("/api/v1/shop/tag-rules/", "get"),
    ("/api/v1/shop/broadcasts/", "get"),
    ("/api/v1/shop/broadcasts/", "post"),
    ("/api/v1/shop/broadcasts/{id}/", "get"),
    ("/api/v1/shop/broadcasts/{id}/send/", "post"),
}
ORDER_PREFIXES = (
    "/api/v1/shop/products/",
    "/api/v1/shop/skus/",
    "/api/v1/shop/pickup-points/",
    "/api/v1/shop/orders/",
    "/api/v1/shop/after-sales/",
)


@pytest.fixture
def schema(api):
    response = api.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_valid_openapi(schema):
    validate(schema)


def test_the_schema_lists_every_endpoint_with_the_error_shape(schema):
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations >= EXPECTED_OPERATIONS
    assert not {
        (path, method)
        for path, method in operations
        if path.startswith(("/api/v1/links/", "/api/v1/me/", "/api/v1/shop/groups/", *ORDER_PREFIXES))
        and (path, method) not in EXPECTED_OPERATIONS
    }
    for path, method in EXPECTED_OPERATIONS:
        responses = schema["paths"][path][method]["responses"]
        errors = [code for code in responses if code.startswith("4")]
        assert errors, (path, method)
        for code in errors:
            assert responses[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (
                path,
                method,
                code,
            )


def test_join_refusals_are_documented(schema):
    responses = schema["paths"]["/api/v1/links/{code}/join/"]["post"]["responses"]
    assert {"200", "201", "400", "403", "404", "409"} <= set(responses)


def test_token_authentication_is_documented(schema):
    assert schema["components"]["securitySchemes"]["XSessionTokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Session-Token",
        "description": "X-Session-Token authentication",
    }


def test_no_phone_field_appears_in_any_response_shape(schema):
    for name, component in schema["components"]["schemas"].items():
        assert "phone" not in component.get("properties", {}), name


def test_schema_generation_has_no_warnings(db, tmp_path):
    # --fail-on-warn turns any drf-spectacular warning (untyped field, enum clash…) into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


def test_the_docs_page_is_served(api):
    response = api.get(reverse("api-docs"))

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_placing_an_order_documents_the_idempotency_key_and_its_refusal(schema):
    operation = schema["paths"]["/api/v1/me/groups/{id}/orders/"]["post"]
    header = next(p for p in operation["parameters"] if p["in"] == "header")

    assert (header["name"], header["required"]) == ("Idempotency-Key", True)
    assert {"200", "201", "400", "404", "422"} <= set(operation["responses"])


def test_each_state_has_its_own_named_enum(schema):
    names = schema["components"]["schemas"]
    assert {"GroupStateEnum", "OrderStateEnum", "PaymentStateEnum", "RefundStateEnum", "CaseStateEnum"} <= set(names)
    assert names["OrderStateEnum"]["enum"][:2] == ["pending_payment", "paid"]
