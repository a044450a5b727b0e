"""Request economy of Instagram collection, counted on the test suite's fake Instagram.

The fake serves one hashtag with 3 pages of 12 posts, each with a picture, posted by 24
accounts that the feed names by owner id only (as Instagram's GraphQL hashtag feed does). The
minimum a collector can get away with on a first run is one request per page, one download
per new picture and one name look-up per unknown account (3 + 36 + 24 = 63); a poll with
nothing new needs one request. Measured:

- `collect_requests_vs_minimum`: every HTTP request `collect()` makes on the first run;
- `naive_instaloader_requests_vs_minimum`: a straightforward instaloader loop over the same
  feed that reads `owner_username` and `url` of each post (default `iphone_support`) and
  downloads each picture;
- `collect_poll_requests_vs_minimum`: the second run, nothing new.

Run: `python bench/bench_collect.py` (prints the figures) or via `bench/run.py`.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import instaloader
import requests
import responses

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from campaign_worker.sources.collect import collect  # noqa: E402
from campaign_worker.home import Home  # noqa: E402
from campaign_worker.sources.http import RetryPolicy  # noqa: E402
from campaign_worker.workspace import Workspace  # noqa: E402
from tests.collect_fakes import (  # noqa: E402
    INSTAGRAM_SOURCE,
    TAG,
    FakeInstagram,
    campaign_toml,
    graphql_node,
    store_session,
)
from figures import figure  # noqa: E402

PAGES, PER_PAGE, ACCOUNTS = 3, 12, 24


def _feed() -> list[dict]:
    nodes = [graphql_node(n) for n in range(PAGES * PER_PAGE, 0, -1)]
    for node in nodes:  # some accounts post more than once
        node["owner"] = {"id": str(5_000_000 + int(node["shortcode"][2:]) % ACCOUNTS)}
    return nodes


def _figure(requests_made: int, minimum: int) -> dict:
    return figure(requests_made, "requests", minimum)


def measure_collect() -> tuple[int, int, int]:
    """Requests of the first run, of a steady-state poll, and the name look-ups of the first run."""
    with tempfile.TemporaryDirectory() as folder:
        home = Home(Path(folder) / "home")
        home.ensure_dirs()
        campaigns = home.root / "config" / "campaigns"
        campaigns.mkdir(parents=True)
        (campaigns / "bench.toml").write_text(campaign_toml(INSTAGRAM_SOURCE.format(per_run=100)), encoding="utf-8")
        store_session(home)
        ws = Workspace.open(home)
        try:
            with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
                fake = FakeInstagram(rsps, _feed())
                first = collect(ws, ["bench"], retry_policy=RetryPolicy(sleep=lambda s: None))
                assert first.sources[0].status == "ok", first.sources[0].message
                first_requests = len(rsps.calls)
                look_ups = fake.calls["user_info"]
                collect(ws, ["bench"], retry_policy=RetryPolicy(sleep=lambda s: None))
                poll_requests = len(rsps.calls) - first_requests
        finally:
            ws.close()
    return first_requests, poll_requests, look_ups


def measure_naive() -> int:
    """The loop most scripts start with: iterate the feed, read owner and URL, download."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeInstagram(rsps, _feed())
        loader = instaloader.Instaloader(sleep=False, quiet=True, max_connection_attempts=1)  # iphone_support default
        loader.load_session("u", {"sessionid": "x", "csrftoken": "c", "ds_user_id": "123"})
        hashtag = instaloader.Hashtag(loader.context, {"name": TAG})
        with requests.Session() as http:
            for post in hashtag.get_posts_resumable():
                _ = post.owner_username
                http.get(post.url, timeout=10).raise_for_status()
        return len(rsps.calls)


def main() -> dict:
    minimum = PAGES + PAGES * PER_PAGE + ACCOUNTS
    first, poll, look_ups = measure_collect()
    naive = measure_naive()
    figures = {
        "collect_requests_vs_minimum": _figure(first, minimum),
        "naive_instaloader_requests_vs_minimum": _figure(naive, minimum),
        "collect_poll_requests_vs_minimum": _figure(poll, 1),
        "collect_name_lookups_vs_accounts": _figure(look_ups, ACCOUNTS),
    }
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
