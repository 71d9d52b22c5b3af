"""A fake of WeChat's open APIs (api.weixin.qq.com, open.weixin.qq.com) for one official account and one
mini-program, speaking the documented protocol:

- cgi-bin/token: access tokens of two hours; fetching a new one invalidates the old at once (stricter
  than WeChat's five-minute overlap, so a herd of refreshes would show as rejected calls).
- cgi-bin/message/template/send (official account) and cgi-bin/message/subscribe/send (mini-program):
  errcode 40001 for a bad token, 43004 for a member who does not follow, 43101 with no subscription
  left, 40037 for an unknown template; one subscription is used per message.
- sns/jscode2session: a mini-program login code → openid.
- Web sign-in inside WeChat: connect/oauth2/authorize (snsapi_base answers at once; snsapi_userinfo
  shows WeChat's consent page first), sns/oauth2/access_token, sns/userinfo (48001 without the
  userinfo scope). The WeChat user in the browser is `browser_user`.
"""

import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from urllib.parse import parse_qsl, urlencode

from .base import FakeServer, Request, Response


@dataclass
class WechatUser:
    openid: str
    nickname: str = "微信用户"
    headimgurl: str = ""
    unionid: str = ""


@dataclass
class App:
    app_id: str
    secret: str
    token: str = ""
    token_fetches: int = 0
    followers: set = field(default_factory=set)
    templates: set = field(default_factory=set)


class FakeWechat(FakeServer):
    def __init__(self, *, official: tuple[str, str], mini_program: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.apps = {official[0]: App(*official)}
        if mini_program:
            self.apps[mini_program[0]] = App(*mini_program)
        self.official_app_id = official[0]
        self.mini_program_app_id = mini_program[0] if mini_program else ""
        self.messages: list[dict] = []
        self.subscriptions: dict[tuple[str, str], int] = {}  # (openid, template) -> acceptances left
        self.login_codes: dict[str, str] = {}  # js_code -> mini-program openid
        self.browser_user = WechatUser("oWX-test-openid-0001", "小林", "https://thirdwx.qlogo.cn/mmopen/test/132")
        self._codes: dict[str, tuple[WechatUser, str]] = {}  # oauth code -> (user, scope)
        self._user_tokens: dict[str, tuple[WechatUser, str]] = {}
        self._state = threading.Lock()
        self.token_gate = None  # a test may make token fetches wait here (threading.Barrier)

    # --- Access tokens and messages ------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        route, q = request.route, request.query
        if route == "/cgi-bin/token":
            return self._token(q)
        if route in ("/cgi-bin/message/template/send", "/cgi-bin/message/subscribe/send"):
            return self._message(route, q.get("access_token", ""), request.json())
        if route == "/sns/jscode2session":
            return self._jscode2session(q)
        if route == "/connect/oauth2/authorize":
            return self._authorize(q)
        if route == "/connect/oauth2/allow" and request.method == "POST":
            return self._allow(dict(parse_qsl(request.body.decode())))
        if route == "/sns/oauth2/access_token":
            return self._oauth_token(q)
        if route == "/sns/userinfo":
            return self._userinfo(q)
        return Response.json({"errcode": 40066, "errmsg": "invalid url"})

    def _token(self, q: dict) -> Response:
        app = self.apps.get(q.get("appid", ""))
        if app is None or q.get("secret") != app.secret or q.get("grant_type") != "client_credential":
            return Response.json({"errcode": 40125, "errmsg": "invalid appsecret"})
        if self.token_gate is not None:
            self.token_gate.wait()
        with self._state:
            app.token_fetches += 1
            app.token = f"TOKEN-{app.app_id}-{app.token_fetches}-{secrets.token_hex(4)}"
        return Response.json({"access_token": app.token, "expires_in": 7200})

    def _app_of(self, token: str) -> App | None:
        return next((app for app in self.apps.values() if token and app.token == token), None)

    def _message(self, route: str, token: str, data: dict) -> Response:
        app = self._app_of(token)
        if app is None:
            return Response.json(
                {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
            )
        template = data.get("template_id", "")
        if template not in app.templates:
            return Response.json({"errcode": 40037, "errmsg": "invalid template_id"})
        openid = data.get("touser", "")
        if route.endswith("template/send"):
            if openid not in app.followers:
                return Response.json({"errcode": 43004, "errmsg": "require subscribe"})
        else:
            with self._state:
                left = self.subscriptions.get((openid, template), 0)
                if left <= 0:
                    return Response.json({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
                self.subscriptions[(openid, template)] = left - 1
        msgid = secrets.randbelow(10**12)
        self.messages.append({"app": app.app_id, "kind": route.rsplit("/", 2)[-2], "msgid": msgid, **data})
        return Response.json({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    def _jscode2session(self, q: dict) -> Response:
        app = self.apps.get(q.get("appid", ""))
        if app is None or q.get("secret") != app.secret or app.app_id != self.mini_program_app_id:
            return Response.json({"errcode": 40013, "errmsg": "invalid appid"})
        openid = self.login_codes.pop(q.get("js_code", ""), None)
        if openid is None:
            return Response.json({"errcode": 40029, "errmsg": "invalid code"})
        return Response.json({"openid": openid, "session_key": secrets.token_urlsafe(16)})

    # --- Web sign-in (网页授权) ----------------------------------------------------------------------

    def _authorize(self, q: dict) -> Response:
        if q.get("appid") != self.official_app_id or q.get("response_type") != "code":
            return Response.text("参数错误", 400)
        scope = q.get("scope", "")
        if scope not in ("snsapi_base", "snsapi_userinfo"):
            return Response.text("scope 参数错误或没有 scope 权限", 400)
        if scope == "snsapi_base":  # silent: straight back with a code
            return self._back(q, scope)
        user = self.browser_user
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>微信授权</title></head><body>"
            f"<p>申请获取你的昵称、头像</p><p class='who'>{escape(user.nickname)}</p>"
            "<form method='post' action='/connect/oauth2/allow'>"
            + "".join(f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>" for k, v in q.items())
            + "<button type='submit' id='wechat-allow'>允许</button></form></body></html>"
        )
        return Response.text(page, content_type="text/html; charset=utf-8")

    def _allow(self, form: dict) -> Response:
        return self._back(form, form.get("scope", ""))

    def _back(self, q: dict, scope: str) -> Response:
        code = secrets.token_hex(16)
        self._codes[code] = (self.browser_user, scope)
        back = (
            q["redirect_uri"]
            + ("&" if "?" in q["redirect_uri"] else "?")
            + urlencode({"code": code, "state": q.get("state", "")})
        )
        return Response(302, b"", {"Location": back})

    def _oauth_token(self, q: dict) -> Response:
        app = self.apps.get(q.get("appid", ""))
        if app is None or q.get("secret") != app.secret:
            return Response.json({"errcode": 40125, "errmsg": "invalid appsecret"})
        found = self._codes.pop(q.get("code", ""), None)  # a code works once
        if found is None:
            return Response.json({"errcode": 40163, "errmsg": "code been used"})
        user, scope = found
        token = secrets.token_hex(16)
        self._user_tokens[token] = (user, scope)
        data = {
            "access_token": token,
            "expires_in": 7200,
            "refresh_token": secrets.token_hex(16),
            "openid": user.openid,
            "scope": scope,
        }
        if user.unionid:
            data["unionid"] = user.unionid
        return Response.json(data)

    def _userinfo(self, q: dict) -> Response:
        user, scope = self._user_tokens.get(q.get("access_token", ""), (None, ""))
        if user is None or user.openid != q.get("openid"):
            return Response.json({"errcode": 40001, "errmsg": "invalid credential"})
        if scope != "snsapi_userinfo":
            return Response.json({"errcode": 48001, "errmsg": "api unauthorized"})
        return Response.json(
            {"openid": user.openid, "nickname": user.nickname, "sex": 0, "province": "", "city": "", "country": "",
             "headimgurl": user.headimgurl, "privilege": [], **({"unionid": user.unionid} if user.unionid else {})}
        )  # fmt: skip

    # --- Helpers for tests -----------------------------------------------------------------------------

    def fetches(self, app_id: str | None = None) -> int:
        return self.apps[app_id or self.official_app_id].token_fetches

    def expire_token(self, app_id: str | None = None) -> None:
        """WeChat invalidates the token (another system fetched one, or two hours passed)."""
        self.apps[app_id or self.official_app_id].token = f"EXPIRED-{time.monotonic()}"
