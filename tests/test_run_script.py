"""The README's first command as a user runs it: scripts/run on the embedded default (a private PostgreSQL,
tasks in-process) serves the demo shop, prints the logins last, and the product's money flows work on it
through HTTP alone: a member pays on the simulated cashier and the order is paid within seconds, a 拼团
team fills, a friend cuts a bargain. Ctrl-C's TERM sibling stops everything, the database included."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
READY = "press Ctrl-C to stop everything"
OWNER = ("owner@demo.shequn", "shequn-demo-2026")
FRIEND_PHONE = "13912345678"  # a new member: signs in, joins through the printed invite link


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, *, seconds: float, every: float = 0.25):
    """Poll until predicate() returns something truthy (returned), or None after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


class Visitor:
    """One person's browser: cookies, the CSRF token a page would send, JSON or form posts."""

    def __init__(self, base: str, log: Path):
        self.base, self.log = base, log
        self.http = requests.Session()
        self.http.headers["Referer"] = f"{base}/"
        assert self.get("/accounts/login/").status_code == 200  # sets the CSRF cookie
        assert self.http.cookies.get("csrftoken")

    def get(self, path: str, **params) -> requests.Response:
        return self.http.get(self._url(path), params=params, timeout=30)

    def post(self, path: str, *, headers: dict | None = None, **kwargs) -> requests.Response:
        headers = {"X-CSRFToken": self.http.cookies.get("csrftoken", ""), **(headers or {})}
        return self.http.post(self._url(path), headers=headers, timeout=30, allow_redirects=False, **kwargs)

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}{path}"

    def sign_in_by_phone(self, phone: str) -> None:
        """Ask for a code, read it where a developer does (the server log), confirm it."""
        seen = len(self.log.read_bytes())
        asked = self.post("/_allauth/browser/v1/auth/code/request", json={"phone": phone})
        assert asked.status_code == 401, asked.text  # a login-by-code flow is now pending

        def code():
            text = self.log.read_bytes()[seen:].decode(errors="replace")
            found = re.findall(rf"SMS to \+86{phone}: [^\n]*?\b(\d{{6}})\b", text)
            return found[-1] if found else None

        sent = _wait_for(code, seconds=10)
        assert sent, f"no sign-in code for {phone} in the server log"
        confirmed = self.post("/_allauth/browser/v1/auth/code/confirm", json={"code": sent})
        assert confirmed.status_code == 200, confirmed.text

    def sign_in_by_password(self, email: str, password: str) -> None:
        signed_in = self.post("/_allauth/browser/v1/auth/login", json={"email": email, "password": password})
        assert signed_in.status_code == 200, signed_in.text

    def pay_on_the_cashier(self, order_id: int) -> float:
        """Start paying, confirm on the simulated cashier page; seconds until the order reads paid."""
        started = self.post(f"/api/v1/me/orders/{order_id}/pay/")
        assert started.status_code == 200, started.text
        cashier = started.json()["pay_url"]
        assert self.get(cashier).status_code == 200
        clicked = time.monotonic()
        confirmed = self.post(cashier, data={"outcome": "success"})
        assert confirmed.status_code == 302, confirmed.text
        paid = _wait_for(lambda: self.get(f"/api/v1/me/orders/{order_id}/").json()["state"] == "paid", seconds=10)
        assert paid, f"order {order_id} was not paid within 10 s of the cashier's confirmation"
        return time.monotonic() - clicked


def _shanghai(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def _start_campaign(operator: Visitor, sku: dict, **fields) -> int:
    """Create a campaign in the dashboard's form, starting now, and schedule it (it starts at once)."""
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    form = {
        "starts_at": _shanghai(now),
        "ends_at": _shanghai(now + timedelta(days=2)),
        "all_groups": "on",
        "sku": str(sku["id"]),
        "hook_text": "",
        "proof_text": "",
        "cta_text": "",
        **fields,
    }
    created = operator.post("/dashboard/campaigns/new/", data=form)
    assert created.status_code == 302, created.text[-3000:]
    campaign = int(re.search(r"/dashboard/campaigns/(\d+)/$", created.headers["Location"]).group(1))
    assert operator.post(f"/dashboard/campaigns/{campaign}/schedule/").status_code == 302
    return campaign


def _shop_like_a_user(base: str, log: Path, *, member_phone: str, invite_code: str) -> None:
    operator = Visitor(base, log)
    operator.sign_in_by_password(*OWNER)
    products = operator.get("/api/v1/shop/products/").json()["results"]
    sku = next(
        s
        for p in products
        if p["is_active"] and p["offered_to_all_groups"]
        for s in p["skus"]
        if s["is_active"] and s["stock"] >= 10 and Decimal(s["price"]) >= 20
    )
    group_buy = _start_campaign(
        operator,
        sku,
        type="group_buy",
        name="两人成团",
        hook_title="两人成团，立减",
        **{"s-team_size": "2", "s-group_price": str(Decimal(sku["price"]) - 10), "s-time_limit_minutes": "1440"},
    )
    bargain = _start_campaign(
        operator,
        sku,
        type="bargain",
        name="砍到底价",
        hook_title="找好友砍一刀",
        **{
            "s-original_price": "",
            "s-floor_price": "9.90",
            "s-min_cuts": "2",
            "s-max_cuts": "3",
            "s-time_limit_minutes": "600",
            "s-first_cut_share": "0.40",
            "s-pay_within_minutes": "60",
        },
    )

    # The demo member opens a team in their group and pays on the cashier: paid within 10 s.
    leader = Visitor(base, log)
    leader.sign_in_by_phone(member_phone)
    group = leader.get("/api/v1/me/memberships/").json()["results"][0]["group"]["id"]
    delivery = {"delivery": "shipping", "recipient_name": "演示成员", "address": "上海市徐汇区漕溪北路 88 号 2 号楼"}
    opened = leader.post(
        f"/api/v1/me/campaigns/{group_buy}/teams/",
        json={"group": group, "recipient_phone": member_phone, **delivery},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert opened.status_code == 201, opened.text
    seat = opened.json()
    leader.pay_on_the_cashier(seat["order"])
    team = seat["team"]["id"]
    assert leader.get(f"/api/v1/me/campaigns/{group_buy}/teams/{team}/").json()["state"] == "open"

    # A friend signs in with a new number, joins through the printed invite link, joins the team from the
    # leader's share link and pays: the team fills.
    friend = Visitor(base, log)
    friend.sign_in_by_phone(FRIEND_PHONE)
    joined = friend.post(f"/api/v1/links/{invite_code}/join/", json={})
    assert joined.status_code == 201 and joined.json()["status"] == "active", joined.text
    by = parse_qs(urlparse(seat["share_url"]).query)["by"][0]
    joining = friend.post(
        f"/api/v1/me/campaigns/{group_buy}/teams/{team}/join/",
        json={"group": joined.json()["group"]["id"], "recipient_phone": FRIEND_PHONE, "by": by, **delivery},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert joining.status_code == 201, joining.text
    friend.pay_on_the_cashier(joining.json()["order"])
    filled = friend.get(f"/api/v1/me/campaigns/{group_buy}/teams/{team}/").json()
    assert (filled["state"], filled["seats_taken"], filled["seats_left"]) == ("succeeded", 2, 0), filled

    # The demo member starts a bargain; the friend opens the share link and cuts once.
    started = leader.post(f"/api/v1/me/campaigns/{bargain}/bargains/")
    assert started.status_code == 201, started.text
    task = started.json()
    by = parse_qs(urlparse(task["share_url"]).query)["by"][0]
    cut = friend.post(f"/api/v1/me/bargains/{task['id']}/cut/?by={by}")
    assert cut.status_code == 201, cut.text
    after = leader.get(f"/api/v1/me/bargains/{task['id']}/").json()
    assert after["cuts_done"] == 1 and len(after["cuts"]) == 1
    assert Decimal(after["current_price"]) < Decimal(task["current_price"])


@pytest.mark.slow
def test_scripts_run_serves_the_demo_on_the_embedded_default(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    unset = {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    data = tmp_path / "data"
    env.update(DATA_DIR=str(data), PORT=str(port), SHEQUN_VENV=sys.prefix)
    log = tmp_path / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", "scripts/run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        ready = _wait_for(lambda: READY in log.read_text() or process.poll() is not None, seconds=300, every=1)
        output = log.read_text()
        assert ready and process.poll() is None, output[-3000:]

        # The logins come last, after the server's own start-up output, with the way to stop.
        banner, login = output.rindex("Quit the server with CONTROL-C"), output.index("owner@demo.shequn")
        assert banner < login < output.index(READY) and "shequn-demo-2026" in output
        invite = re.search(rf"http://localhost:{port}/m/j/([\w-]+)/", output)
        member_phone = re.search(r"\+86(1\d{10})", output[invite.end() :])
        assert invite and member_phone, output[-3000:]
        assert "run_schedule" in output  # the periodic jobs run beside the server

        health = requests.get(f"{base}/healthz", timeout=10).json()
        assert health["database"] == {"ok": True, "vendor": "postgresql"}, health
        assert health["worker"]["mode"] == "in-process"
        page = requests.get(invite.group(0).replace("localhost", "127.0.0.1"), timeout=10)
        assert page.status_code == 200 and "宝宝辅食交流" in page.text

        _shop_like_a_user(base, log, member_phone=member_phone.group(1), invite_code=invite.group(1))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    # Stopped with everything it started: the database too, its data kept for the next run.
    assert "stopping PostgreSQL" in log.read_text()
    assert (data / "pg" / "PG_VERSION").exists() and not (data / "pg" / "postmaster.pid").exists()
