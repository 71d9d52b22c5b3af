"""Issue 15's complaints and suggestions box end to end: a member sends a complaint with a photo from the group
page on a 390 px phone, the operator routes it to a department and answers it in the dashboard, and the member
reads the answer on their page (and has the message in their inbox).

The live server runs in another thread of this process, so the data below is committed.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from groups import feedback
from groups.feedback_models import Feedback
from groups.models import GroupState, Threshold
from groups.services import add_member
from notifications.models import Notification
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, UserFactory
from tests.groups.space_support import photo

pytestmark = pytest.mark.browser


def test_a_member_complains_the_operator_answers_and_the_member_reads_it(
    phone, desktop, live_site, shot, sign_in_by_phone, sign_in_operator, tmp_path
):
    shop = ShopFactory(name="小满母婴生活馆")
    operator = OperatorFactory(
        shop=shop, role=OperatorRole.OPERATOR, user__display_name="运营小林", user__email="lin@xiaoman.test"
    ).user
    feedback.create_department(shop_id=shop.pk, by=operator, name="物流部")
    group = GroupFactory(shop=shop, name="小满宝妈辅食交流 3 群", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    member = UserFactory(display_name="宝妈小雨", phone="+8613812340000")
    add_member(group=group, user=member, by=operator)
    picture = tmp_path / "box.jpg"
    picture.write_bytes(photo((600, 400), exif=False).read())

    # The member opens the group page and sends a complaint with a photo.
    phone.goto(f"{live_site}{reverse('member:group', args=[group.pk])}")
    sign_in_by_phone(phone, "13812340000", step="1-sign-in")
    phone.get_by_role("link", name="投诉与建议", exact=True).click()
    expect(phone.get_by_role("heading", name="投诉与建议")).to_be_visible()
    phone.get_by_role("button", name="提交").click()
    expect(phone.get_by_text("请填写内容。")).to_be_visible()  # nothing written: a Chinese error
    phone.get_by_label("类型").select_option("complaint")
    phone.get_by_label("内容").fill("昨天的辅食礼盒外箱压坏了，两罐米粉漏了。")
    phone.get_by_label("照片（选填）").set_input_files(str(picture))
    shot(phone, "2-complaint")
    phone.get_by_role("button", name="提交").click()
    expect(phone.get_by_test_id("feedback-state")).to_contain_text("待处理")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "3-sent")
    item = Feedback.objects.get(member=member)
    assert item.kind == "complaint" and item.group_id == group.pk and item.photo

    # The operator routes it to 物流部 and answers.
    sign_in_operator(desktop, "lin@xiaoman.test")
    desktop.get_by_role("link", name="投诉与建议").first.click()
    desktop.get_by_test_id("feedback-row").get_by_role("link").first.click()
    expect(desktop.get_by_role("img", name="照片")).to_be_visible()
    desktop.get_by_label("处理部门").select_option(label="物流部")
    desktop.get_by_role("button", name="转部门").click()
    expect(desktop.get_by_test_id("feedback-state")).to_contain_text("已转部门")
    desktop.get_by_label("答复").fill("抱歉！已为你补发两罐米粉，明天到自提点。")
    shot(desktop, "4-operator-answers")
    desktop.get_by_role("button", name="发送答复").click()
    expect(desktop.get_by_test_id("feedback-state")).to_contain_text("已答复")
    shot(desktop, "5-answered")

    # The member reads the answer on their page; the message is in their inbox once.
    phone.goto(f"{live_site}{reverse('member:feedback_list')}")
    phone.get_by_test_id("my-feedback").get_by_role("link").first.click()
    expect(phone.get_by_test_id("feedback-answer")).to_contain_text("已为你补发两罐米粉")
    expect(phone.get_by_test_id("feedback-state")).to_contain_text("已答复")
    shot(phone, "6-member-reads-answer")
    assert Notification.objects.filter(user=member, kind="feedback_answered").count() == 1
