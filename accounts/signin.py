"""Members' sign-in by SMS code: limits that hold across attempts, and no account before a code is confirmed.

Guarantees (counters in Redis through the cache, shared by every web process):
- Wrong codes: at most settings.SIGNIN_WRONG_CODES_PER_DAY per number in 24 hours (default 10, so a
  guesser's odds are at most 10 in a million a day). Reaching it locks the number's code sign-in, both
  asking for codes and confirming them (even with the right code), until the 24 hours end. Wrong codes
  are also capped per client address and per device an hour (SIGNIN_WRONG_CODES_PER_HOUR), so one
  attacker cannot spread guesses over many numbers; a locked address or device is refused the same way.
  Restarting an attempt does not reset any of these (allauth's 5 tries per attempt still apply).
  With Redis down nothing can be counted, so code sign-in is refused until it is back (fails closed).
- Code requests back off exponentially per number: after its n-th code (counted until a day passes
  without one) the next is given SIGNIN_CODE_BACKOFF[0] × 2^(n−1) seconds later at the earliest (60 s,
  2 min, 4 min … at most SIGNIN_CODE_BACKOFF[1]); a device may ask for SIGNIN_CODES_PER_DEVICE_PER_HOUR
  codes an hour. The SMS sends stay within accounts.sms's limits per number and per client address.
- A number nobody has signed in with gets no account when it asks for a code: the account is made when
  its code is confirmed (PhoneLoginCodeProcess.finish).
"""

import time

from allauth.account.adapter import get_adapter
from allauth.account.internal.flows import login_by_code
from allauth.account.internal.userkit import user_id_to_str
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from shequn.client import client_ip, device_id

from .models import User

DAY, HOUR = 24 * 3600, 3600


class SignInLimited(Exception):
    """Over a sign-in limit; `str()` is the member-facing message."""


def _who(request) -> tuple[str | None, str]:
    return (client_ip(request), device_id(request)) if request is not None else (None, "")


def _wrong_keys(phone: str, ip: str | None, device: str) -> list[tuple[str, int, int]]:
    """(key, limit, window) of every wrong-code counter this attempt counts in."""
    per_hour = settings.SIGNIN_WRONG_CODES_PER_HOUR
    keys = [(f"signin:wrong:number:{phone}", settings.SIGNIN_WRONG_CODES_PER_DAY, DAY)]
    if ip:
        keys.append((f"signin:wrong:ip:{ip}", per_hour, HOUR))
    if device:
        keys.append((f"signin:wrong:device:{device}", per_hour, HOUR))
    return keys


def _locked(phone: str, ip: str | None, device: str) -> bool:
    return any((cache.get(key) or 0) >= limit for key, limit, _window in _wrong_keys(phone, ip, device))


def _incr(key: str, window: int) -> int:
    """Count one in a window that starts with its first count (Redis INCR decides under concurrency)."""
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        return 1


def available() -> bool:
    """Whether the limits can be counted: with Redis down the cache answers None to everything (settings:
    IGNORE_EXCEPTIONS), and sign-in then fails closed rather than let guesses through uncounted."""
    return cache.add("signin:available", 1, timeout=1) is not None


def check_code_request(*, phone: str, request) -> None:
    """Raise SignInLimited if a code may not be asked for now (counts nothing; the form's early answer)."""
    if not available():
        raise SignInLimited(_("登录暂时不可用，请稍后再试。"))
    ip, device = _who(request)
    if _locked(phone, ip, device):
        raise SignInLimited(_("验证码输错次数过多，请明天再试。"))
    wait = (cache.get(f"signin:next-code:{phone}") or 0) - time.time()
    if wait > 0:
        raise SignInLimited(_("请 %(seconds)d 秒后再获取验证码。") % {"seconds": int(wait) + 1})
    if device and (cache.get(f"signin:codes:device:{device}") or 0) >= settings.SIGNIN_CODES_PER_DEVICE_PER_HOUR:
        raise SignInLimited(_("获取验证码太频繁，请稍后再试。"))


def take_code_request(*, phone: str, request) -> None:
    """Count a code about to be sent, or raise SignInLimited. One request per number at a time decides
    (a short lock taken with Redis ADD; a concurrent one is refused), so concurrent requests cannot all
    pass the back-off: the n-th code moves the next one SIGNIN_CODE_BACKOFF[0] × 2^(n−1) seconds away,
    at most SIGNIN_CODE_BACKOFF[1]."""
    first_wait, longest_wait = settings.SIGNIN_CODE_BACKOFF
    lock = f"signin:code-lock:{phone}"
    if not cache.add(lock, 1, timeout=10):
        raise SignInLimited(_("请 %(seconds)d 秒后再获取验证码。") % {"seconds": first_wait})
    try:
        check_code_request(phone=phone, request=request)
        codes = (cache.get(f"signin:codes:number:{phone}") or 0) + 1
        # Both kept for a day after the latest code: the back-off relaxes only after a quiet day.
        cache.set(f"signin:codes:number:{phone}", codes, timeout=DAY)
        wait = min(first_wait * 2 ** (codes - 1), longest_wait)
        cache.set(f"signin:next-code:{phone}", time.time() + wait, timeout=DAY)
    finally:
        cache.delete(lock)
    _ip, device = _who(request)
    if device and _incr(f"signin:codes:device:{device}", HOUR) > settings.SIGNIN_CODES_PER_DEVICE_PER_HOUR:
        raise SignInLimited(_("获取验证码太频繁，请稍后再试。"))


def member_for_phone(phone: str) -> User:
    """The member with this (just verified) number: the existing one, or a new account."""
    try:
        with transaction.atomic():
            user = User(phone=phone, phone_verified=True, username=phone)
            user.set_unusable_password()
            user.save()
            return user
    except IntegrityError:  # another request created it first
        return User.objects.get(phone=phone)


class PhoneLoginCodeProcess(login_by_code.LoginCodeVerificationProcess):
    """allauth's login-by-code process with the limits above, for numbers with or without an account.

    Installed in place of allauth's class (AccountsConfig.ready), because the browser and headless views
    and the login stages all start and resume the process through that one name.
    """

    def generate_code(self) -> str:
        if self.user is not None or not self.state.get("phone"):
            return super().generate_code()
        code = get_adapter().generate_phone_verification_code(user=None, phone=self.state["phone"])
        self.state["code"] = code
        return code

    def send_by_phone(self, phone: str, skip_enumeration_mails: bool = False) -> None:  # noqa: ARG002 (allauth's)
        """A code to every valid number: known or not, the member cannot tell (and no account is made)."""
        get_adapter().send_verification_code_sms(user=self.user, phone=phone, code=self.generate_code())
        self.add_sent_message({"recipient": phone, "phone": phone})

    def is_valid(self) -> bool:
        phone = self.state.get("phone")
        return super().is_valid() and available() and not (phone and _locked(phone, *_who(self.request)))

    def record_invalid_attempt(self) -> bool:
        phone = self.state.get("phone")
        if phone:
            for key, _limit, window in _wrong_keys(phone, *_who(self.request)):
                _incr(key, window)
            if _locked(phone, *_who(self.request)):
                self.abort()
                return False
        return super().record_invalid_attempt()

    def finish(self, redirect_url: str | None):
        phone = self.state.get("phone")
        if self.user is None and phone:
            user = member_for_phone(phone)
            self._user = self.stage.login.user = user
            self.state["user_id"] = user_id_to_str(user)
        return super().finish(redirect_url)
