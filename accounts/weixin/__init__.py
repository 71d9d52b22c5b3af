"""WeChat sign-in inside WeChat's own browser, through allauth's weixin provider (网页授权).

allauth's provider targets the website QR login (snsapi_login) and always asks for the profile. Inside
WeChat the official account's web authorisation is used instead: snsapi_base first (silent: the
openid, no screen), then snsapi_userinfo once for a new member (WeChat asks them to share their
nickname and avatar). Its endpoints come from settings (WEIXIN_AUTHORIZE_URL, WECHAT_API_BASE), which
is how the tests reach their fake.
"""
