"""Members' own pages: the first WeChat sign-in (new account, or bind the WeChat to a phone account) and
the profile (nickname and avatar, which posters and share pages show)."""

from allauth.socialaccount.internal.flows.signup import clear_pending_signup, get_pending_signup, process_signup
from allauth.socialaccount.models import SocialAccount
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from shequn import images

from .adapter import NEW_MEMBER_CONFIRMED
from .identity import WEIXIN, wechat_openid

DEFAULT_NEXT = "member:my_groups"


def _next_of(request: HttpRequest, sociallogin) -> str:
    wanted = sociallogin.state.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
        return wanted
    return reverse(DEFAULT_NEXT)


@require_http_methods(["GET", "POST"])
def weixin_first_sign_in(request: HttpRequest) -> HttpResponse:
    """A first WeChat sign-in: who WeChat says they are, then "I am new" or "I have a phone account"."""
    sociallogin = get_pending_signup(request)
    if sociallogin is None or sociallogin.account.provider != WEIXIN:
        return redirect("account_login")
    if request.method == "POST":
        if request.POST.get("choice") == "bind":
            login = reverse("account_request_login_code")
            return redirect(f"{login}?next={reverse('weixin_bind')}")
        clear_pending_signup(request)
        request.session[NEW_MEMBER_CONFIRMED] = sociallogin.account.uid
        return process_signup(request, sociallogin)  # creates the member and signs them in
    extra = sociallogin.account.extra_data
    return render(
        request,
        "account/weixin_first_sign_in.html",
        {"nickname": extra.get("nickname", ""), "avatar": extra.get("headimgurl", "")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def weixin_bind(request: HttpRequest) -> HttpResponse:
    """The member signed in with their phone: after they confirm, their WeChat signs them in here too."""
    sociallogin = get_pending_signup(request)
    if sociallogin is None or sociallogin.account.provider != WEIXIN:
        return redirect(DEFAULT_NEXT)
    extra = sociallogin.account.extra_data
    if request.method == "POST":
        user = request.user
        try:
            with transaction.atomic():
                if SocialAccount.objects.filter(provider=WEIXIN, uid=sociallogin.account.uid).exists():
                    raise ValidationError(_("这个微信已经绑定了另一个账户。"))
                if wechat_openid(user):
                    raise ValidationError(_("你的账户已经绑定了另一个微信。"))
                sociallogin.connect(request, user)
                fields = []
                if not user.display_name and extra.get("nickname"):
                    user.display_name, fields = extra["nickname"][:40], [*fields, "display_name"]
                if not user.avatar_url and extra.get("headimgurl"):
                    user.avatar_url, fields = extra["headimgurl"][:500], [*fields, "avatar_url"]
                if fields:
                    user.save(update_fields=fields)
        except (ValidationError, IntegrityError) as error:
            messages.error(
                request, error.messages[0] if isinstance(error, ValidationError) else _("绑定失败，请重试。")
            )
            clear_pending_signup(request)
            return redirect(DEFAULT_NEXT)
        clear_pending_signup(request)
        messages.success(request, _("已绑定微信，下次在微信里一键登录。"))
        return redirect(_next_of(request, sociallogin))
    return render(
        request,
        "account/weixin_bind.html",
        {"nickname": extra.get("nickname", ""), "avatar": extra.get("headimgurl", "")},
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=gettext_lazy("昵称"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("群里、海报和分享页上别人看到的名字；留空则显示打码的手机号。"),
    )
    avatar = forms.FileField(
        label=gettext_lazy("头像"), required=False, widget=forms.FileInput(attrs={"accept": "image/*"})
    )

    def clean_display_name(self) -> str:
        return " ".join(self.cleaned_data["display_name"].split())

    def clean_avatar(self):
        avatar = self.cleaned_data.get("avatar")
        # Stored as shequn.images makes it (checked, stripped, renamed, avatar-sized), never as uploaded.
        return images.clean_image(avatar, bounds=images.AVATAR) if avatar else avatar


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """我的资料: the nickname and avatar the member shows to others."""
    user = request.user
    form = ProfileForm(request.POST or None, request.FILES or None, initial={"display_name": user.display_name})
    if request.method == "POST" and form.is_valid():
        user.display_name = form.cleaned_data["display_name"]
        fields = ["display_name"]
        if form.cleaned_data.get("avatar"):
            user.avatar = form.cleaned_data["avatar"]
            fields.append("avatar")
        user.save(update_fields=fields)
        messages.success(request, _("资料已保存。"))
        return redirect("profile")
    return render(
        request,
        "account/profile.html",
        {"form": form, "wechat_bound": bool(wechat_openid(user)), "lang_next": reverse("profile")},
    )
