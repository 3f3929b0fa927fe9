"""What the hardened Mailchimp client costs per request, against a plain pooled ``requests.Session`` on the same
loopback sandbox (no latency), measured in the same run.

    python bench/client_overhead.py [--members 5000] [--pings 500] [--repeat 5]

Two workloads: ``--pings`` sequential ``GET /ping`` (the fixed cost of one request: slots, deadline, bounded read,
answer checks), and reading all ``--members`` members in pages of 1,000 (bounded reading and the shape check of a
page). Prints medians and the ratio client / plain session.
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from opus1_mailchimp.client import Mailchimp
from opus1_mailchimp.sandbox import Sandbox

PAGE_SHAPE = {"members": [{"email_address": str, "status": str, "merge_fields?": dict, "tags?": [{"name": str}]}],
              "total_items": int}


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--pings", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with Sandbox(port=0) as sandbox:
        for n in range(args.members):
            sandbox.seed_member(f"parent{n}@posteo.de", merge_fields={"FNAME": "Maria", "LNAME": f"Family{n}"},
                                tags=["opus1"])
        mc = Mailchimp(sandbox.api_key, sandbox.base_url)
        plain = requests.Session()
        auth = ("user", sandbox.api_key)
        members = f"{sandbox.base_url}/lists/{sandbox.audience_id}/members"
        fields = "members.email_address,members.status,members.merge_fields,members.tags,total_items"

        def pings_client():
            for _ in range(args.pings):
                mc.call(mc.ping.get, shape={})

        def pings_plain():
            for _ in range(args.pings):
                plain.get(f"{sandbox.base_url}/ping", auth=auth, timeout=120).json()

        def pages_client():
            for offset in range(0, args.members, 1000):
                mc.call(mc.lists.get_list_members_info, sandbox.audience_id, count=1000, offset=offset,
                        fields=fields.split(","), shape=PAGE_SHAPE)

        def pages_plain():
            for offset in range(0, args.members, 1000):
                plain.get(members, params={"count": 1000, "offset": offset, "fields": fields}, auth=auth,
                          timeout=120).json()

        rows = []
        for name, ours, base in (("ping", pings_client, pings_plain), ("member pages", pages_client, pages_plain)):
            ours_s, base_s = [], []
            for _ in range(args.repeat):
                base_s.append(timed(base))
                ours_s.append(timed(ours))
            rows.append((name, statistics.median(base_s), statistics.median(ours_s)))
        print(f"{'workload':<14}{'plain s':>10}{'client s':>10}{'ratio':>8}")
        for name, base, ours in rows:
            print(f"{name:<14}{base:>10.3f}{ours:>10.3f}{ours / base:>8.2f}")
        mc.close()


if __name__ == "__main__":
    main()
