"""Writes for a shop's merchant accounts (WeChat Pay, Alipay): the owner chooses and sets them up.

Guarantees:
- secrets (private keys, the APIv3 key) are stored sealed (shequn.sealed) or as "env:NAME" references,
  never in clear, and never given back: a secret left empty keeps the stored one;
- an account is enabled only with every required field present and keys that load;
- every change records who made it, when and which fields (PaymentAccountChange), never the values.
"""

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from shequn.sealed import SealError, is_env_reference, resolve, seal, unseal
from shops import audit
from shops.models import Shop

from .models import PaymentAccount, PaymentAccountChange
from .payments import provider_class
from .payments.base import CredentialField

REAL_PROVIDERS = ("wechatpay", "alipay")
_ENV_NAME = re.compile(r"^env:[A-Z_][A-Z0-9_]*$")


def fields_of(provider: str) -> tuple[CredentialField, ...]:
    return provider_class(provider).credential_fields


def secret_state(account: PaymentAccount | None) -> dict[str, str]:
    """For each secret field: "" (not set), "sealed" or the env reference (safe to show: a name, not a value)."""
    if account is None:
        return {}
    try:
        stored = unseal(account.sealed_secrets)
    except SealError:
        return {field.name: "unreadable" for field in fields_of(account.provider) if field.secret}
    return {name: value if is_env_reference(value) else "sealed" for name, value in stored.items() if value}


@transaction.atomic
def save_payment_account(
    *, shop: Shop, provider: str, enabled: bool, values: dict[str, str], by: User
) -> PaymentAccount:
    """Create or update the shop's account with `provider`. Empty secret values keep the stored ones."""
    if provider not in REAL_PROVIDERS:
        raise ValidationError(_("不支持的支付渠道。"))
    fields = fields_of(provider)
    account = PaymentAccount.objects.select_for_update().filter(shop=shop, provider=provider).first()
    old_config = dict(account.config) if account else {}
    try:
        old_secrets = unseal(account.sealed_secrets) if account else {}
    except SealError:
        old_secrets = {}  # unreadable after a key rotation: the owner enters them again
    config, secrets, errors = _read_values(fields, values, old_secrets)
    if enabled:
        _require_fields(fields, config, secrets, errors)
    if not errors and enabled:
        errors.update(_check_keys(provider, config, secrets))
    if errors:
        raise ValidationError(errors)
    changed = sorted(
        [f.name for f in fields if not f.secret and old_config.get(f.name, "") != config.get(f.name, "")]
        + [f.name for f in fields if f.secret and old_secrets.get(f.name) != secrets.get(f.name)]
    )
    if account is None:
        account = PaymentAccount(shop=shop, provider=provider)
    elif not changed and account.is_enabled == enabled:
        return account
    was_enabled = account.is_enabled if account.pk else None
    account.config = config
    account.sealed_secrets = seal({name: value for name, value in secrets.items() if value})
    account.is_enabled = enabled
    account.updated_by = by
    account.updated_at = timezone.now()
    account.save()
    PaymentAccountChange.objects.create(account=account, by=by, fields=changed, enabled=enabled)
    # Public settings by value; a secret only by the name of the field that changed, never its value.
    secret_names = {f.name for f in fields if f.secret}
    audit.record(
        shop=shop,
        by=by,
        action="payments.account.save",
        target=account,
        before={"is_enabled": was_enabled} | {k: v for k, v in old_config.items() if k in changed},
        after={"is_enabled": enabled}
        | {k: config.get(k, "") for k in changed if k not in secret_names}
        | ({"secrets_changed": sorted(secret_names & set(changed))} if secret_names & set(changed) else {}),
        label=f"{shop.name} {provider}",
    )
    return account


def _read_values(fields, values: dict[str, str], old_secrets: dict) -> tuple[dict, dict, dict]:
    """The submitted config and secrets (an empty secret keeps the stored one; an env: reference must
    name a variable), and the errors found."""
    config, secrets, errors = {}, dict(old_secrets), {}
    for field in fields:
        value = (values.get(field.name) or "").strip()
        if not field.secret:
            config[field.name] = value
        elif value:
            if value.startswith("env:") and not _ENV_NAME.match(value):
                errors[field.name] = _("环境变量引用的格式是 env:变量名（大写字母、数字和下划线）。")
            secrets[field.name] = value
    return config, secrets, errors


def _require_fields(fields, config: dict, secrets: dict, errors: dict) -> None:
    """An enabled account has every required field filled."""
    for field in fields:
        present = secrets.get(field.name) if field.secret else config.get(field.name)
        if field.required and not present:
            errors.setdefault(field.name, _("启用前请填写此项。"))


def _check_keys(provider: str, config: dict, secrets: dict) -> dict[str, str]:
    """Load the keys the way the provider's SDK will, so a pasted key that cannot work is refused now."""
    errors = {}
    try:
        resolved = {name: resolve(value) for name, value in secrets.items()}
    except SealError as exc:
        return {next(iter(secrets)): str(exc)}
    if provider == "wechatpay":
        from wechatpayv3.utils import load_private_key, load_public_key

        try:
            load_private_key(resolved["private_key"])
        except Exception:  # the SDK raises a bare Exception
            errors["private_key"] = _("无法读取商户 API 私钥，请粘贴 apiclient_key.pem 的完整内容。")
        if config.get("platform_public_key"):
            try:
                load_public_key(config["platform_public_key"])
            except Exception:
                errors["platform_public_key"] = _("无法读取微信支付公钥。")
            if not config.get("platform_public_key_id"):
                errors["platform_public_key_id"] = _("使用微信支付公钥时需要填写公钥 ID。")
        if len(resolved.get("api_v3_key", "")) != 32:
            errors["api_v3_key"] = _("APIv3 密钥是 32 个字符。")
    elif provider == "alipay":
        from Cryptodome.PublicKey import RSA

        from .payments.alipay import pem

        try:
            RSA.importKey(pem(resolved["app_private_key"], "PRIVATE KEY"))
        except (ValueError, IndexError, TypeError):
            errors["app_private_key"] = _("无法读取应用私钥。")
        try:
            RSA.importKey(pem(config["alipay_public_key"], "PUBLIC KEY"))
        except (ValueError, IndexError, TypeError):
            errors["alipay_public_key"] = _("无法读取支付宝公钥。")
    return errors
