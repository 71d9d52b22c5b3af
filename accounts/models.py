from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .phones import mask_phone


class UserManager(DjangoUserManager):
    def create_member(self, *, phone: str, display_name: str = "", **extra) -> "User":
        """A member account: known by a verified mobile number, no password."""
        user = self.model(phone=phone, phone_verified=True, display_name=display_name, **extra)
        user.username = phone
        user.set_unusable_password()
        user.save()
        return user


class User(AbstractUser):
    """One person: a member (phone + SMS code), an operator (e-mail + password), or both."""

    # username is kept (Django admin needs one); allauth fills it from the phone or e-mail.
    phone = models.CharField(_("手机号"), max_length=16, unique=True, null=True, blank=True)
    phone_verified = models.BooleanField(_("手机号已验证"), default=False)
    display_name = models.CharField(_("昵称"), max_length=40, blank=True)
    email = models.EmailField(_("邮箱"), blank=True)
    # The member's own picture, else the one WeChat shared at sign-in (an address at WeChat).
    avatar = models.ImageField(_("头像"), upload_to="avatars/%Y/%m/", blank=True)
    avatar_url = models.URLField(_("微信头像"), max_length=500, blank=True)
    # A person made up by `manage.py seed_demo`: their numbers may belong to real people, so nothing is
    # ever sent to them outside the site (accounts.sms.send_sms, notifications' release to channels).
    is_demo = models.BooleanField(_("演示账号"), default=False)

    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci", condition=~models.Q(email="")),
        ]

    def __str__(self) -> str:
        return self.public_name

    @property
    def avatar_src(self) -> str:
        """What to show as the member's picture: their upload, else their WeChat avatar, else nothing."""
        if self.avatar:
            return self.avatar.url
        return self.avatar_url

    @property
    def public_name(self) -> str:
        """What other people may see: the nickname, else a masked phone, never the full number."""
        if self.display_name:
            return self.display_name
        if self.phone:
            return mask_phone(self.phone)
        return self.email.split("@")[0] if self.email else self.username


def public_name_of(user: User) -> str:
    """allauth's ACCOUNT_USER_DISPLAY: the same name everyone else sees, never a full phone number."""
    return user.public_name


class SmsRecord(models.Model):
    """One SMS we asked a provider to send (sign-in codes and notifications): what, through which backend
    and signature, and what came of it, so failed deliveries are visible (accounts.sms.send_sms)."""

    SENT, FAILED, LIMITED = "sent", "failed", "limited"
    STATUSES = [(SENT, _("已提交")), (FAILED, _("发送失败")), (LIMITED, _("超出频率限制"))]

    phone = models.CharField(_("手机号"), max_length=16)
    kind = models.CharField(_("类型"), max_length=40)
    backend = models.CharField(_("渠道"), max_length=40)
    sign_name = models.CharField(_("签名"), max_length=40, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=STATUSES, default=FAILED)
    provider_id = models.CharField(_("渠道流水号"), max_length=64, blank=True)
    error_code = models.CharField(_("错误码"), max_length=60, blank=True)
    error = models.CharField(_("错误"), max_length=300, blank=True)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("短信记录")
        verbose_name_plural = _("短信记录")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["status", "at"]), models.Index(fields=["phone", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} → {mask_phone(self.phone)} ({self.status})"
