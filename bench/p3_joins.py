"""P3 — joins through invite links spread over many groups, against a one-statement write view.

--groups groups, each with an invite link of its own inviter; each round --joins members who belong to no
group yet, each signed in (sessions made in the store before the run), POST 立即加入 on one of the links
(CSRF token and all) through the asyncio client, --connections at a time. Baseline, right after on the
same workers and client: as many POSTs of /_bench/write/<id> (one UPDATE of one row by primary key,
autocommit). Invariants afterwards: every join answered with the redirect to the group page; each group's
stored member count equals its active memberships; each link's join count equals the joins through it.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _seed  # noqa: E402
from _support import Measure  # noqa: E402
from _web import Bench, Request, web_options  # noqa: E402

ID = "P3"
TITLE = "joins through invite links spread over many groups vs one-statement write view"
TARGET = 0.30


def run(argv: list[str]) -> list[Measure]:
    parser = web_options(argparse.ArgumentParser(prog="scripts/bench P3", description=__doc__))
    parser.add_argument("--groups", type=int, default=50, help="groups, one invite link each (default 50)")
    parser.add_argument("--joins", type=int, default=200, help="joins per round (default 200)")
    args = parser.parse_args(argv)
    bench = Bench("p3", args)
    try:
        shop = _seed.shop()
        inviters = _seed.members(args.groups, "p3i")
        links = []
        for i, inviter in enumerate(inviters):
            group = _seed.group(shop, name=f"宝妈好物群{i}", capacity=10_000)
            _seed.add_members(group, [inviter])
            links.append(_seed.invite_link(group, inviter))
        return bench.variants(lambda web: measure(bench, args, links, web=web))
    finally:
        bench.close()


def measure(bench: Bench, args, links: list, web: int) -> list[Measure]:
    suffix = "" if web == 1 else f" ×{web} processes"
    rounds = args.rounds
    joiners = _seed.members(args.joins * (rounds + 1), f"p3j{web}x")
    sessions = bench.sessions(joiners)
    batches = [
        [
            bench.post(f"/m/j/{links[(r * args.joins + i) % len(links)].code}/join/", sessions[r * args.joins + i], {})
            for i in range(args.joins)
        ]
        for r in range(rounds + 1)
    ]
    answers = []
    before = memberships_through(links)  # a --scale run's second measure reuses the links
    with bench.serving(web=web, celery=web):
        warm, _rate = bench.fire(batches[0][: args.joins // 4])  # the rest of batch 0 is never sent
        answers += warm
        writes = [Request("POST", f"/_bench/write/{1 + i % 1000}") for i in range(args.joins)]

        def product(r):
            got, rate = bench.fire(batches[r + 1])
            answers.extend(got)
            return rate

        medians = bench.rounds({"joins": product, "one-statement write": lambda _r: bench.fire(writes)[1]})
        bench.drain_celery()
    return [
        Measure(
            id=ID,
            name=f"joins through links over {len(links)} groups{suffix}",
            figure=medians["joins"],
            baseline=medians["one-statement write"],
            unit="joins/s",
            baseline_name=f"one-statement write view{suffix}",
            target=TARGET,
            invariants=check(answers, links, before),
            notes=f"{len(answers)} joins sent, {sum(a.status == 302 for a in answers)} redirected to the group",
        )
    ]


def memberships_through(links) -> dict[int, int]:
    from django.db.models import Count

    from groups.models import Membership

    return dict(Membership.objects.filter(invite_link__in=links).values_list("invite_link").annotate(n=Count("id")))


def check(answers, links, before: dict[int, int]) -> dict[str, bool]:
    from django.db.models import Count, Q

    from groups.models import Group, InviteLink

    groups = Group.objects.filter(pk__in=[link.group_id for link in links]).annotate(
        active=Count("memberships", filter=Q(memberships__status="active"))
    )
    through = memberships_through(links)
    stored = dict(InviteLink.objects.filter(pk__in=[link.pk for link in links]).values_list("pk", "join_count"))
    joined = sum(through.values()) - sum(before.values())
    return {
        "every join redirected to its group": all(a.status == 302 and "/m/groups/" in a.location for a in answers),
        "one membership per join": joined == len(answers),
        "group member counts exact": all(g.active_member_count == g.active for g in groups),
        "link join counts exact": all(stored[pk] == through.get(pk, 0) for pk in stored),
    }


if __name__ == "__main__":
    from _support import print_measures

    print_measures(run(sys.argv[1:]))
