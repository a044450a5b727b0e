"""The digest as an e-mail that every client shows: a table layout whose CSS is moved into
`style` attributes by css-inline (Outlook's Word engine ignores `<style>` blocks, grid and
flex), the chart and the thumbnails as `cid:` parts, a text part with the same content, and
the headers every mail needs (`Date`, `Message-ID`) plus `List-Unsubscribe`. One message per
recipient."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING
from urllib.parse import quote

import css_inline

from campaign_worker.publish.digest_chart import render_chart
from campaign_worker.publish.digest_figures import WeekDigest
from campaign_worker.publish.digest_templates import render_template
from campaign_worker.timeutil import utcnow

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def subject(digest: WeekDigest) -> str:
    """„Wochenüberblick KW 41 – Siegen – Mein Herz trägt Krone“."""
    campaign, week = digest.campaign, digest.week
    if campaign.language == "en":
        return f"Weekly digest week {week.number} – {campaign.name}"
    return f"Wochenüberblick KW {week.number} – {campaign.name}"


def unsubscribe_target(digest: WeekDigest, sender: str) -> str:
    configured = digest.campaign.digest.unsubscribe
    if configured:
        return configured
    return f"mailto:{sender}?subject=" + quote(f"abbestellen {digest.campaign.slug}")


def compose(ws: Workspace, digest: WeekDigest, sender: str, recipient: str) -> EmailMessage:
    """One recipient's message for the week."""
    domain = sender.rsplit("@", 1)[-1]
    thumbs = {ref.thumb_sha for ref in digest.highlights if ref.thumb_sha in digest.thumbs}
    cids = {sha: make_msgid(idstring=sha[:12], domain=domain) for sha in sorted(thumbs)}
    chart_cid = make_msgid(idstring="chart", domain=domain)
    html = render_template(ws.home, digest, "digest/email.html.j2", lambda sha: f"cid:{cids[sha][1:-1]}" if sha in cids else None,
                           f"cid:{chart_cid[1:-1]}", subject=subject(digest))
    html = _INLINER.inline(html)
    text = render_template(ws.home, digest, "digest/digest.txt.j2", lambda sha: None, None)

    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject(digest)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=domain)
    message["List-Id"] = f"{digest.campaign.name[:60]} <{digest.campaign.slug}.digest.{domain}>"
    message["List-Unsubscribe"] = f"<{unsubscribe_target(digest, sender)}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    html_part = message.get_payload()[1]
    html_part.add_related(render_chart(digest), "image", "png", cid=chart_cid, filename="wochenueberblick.png")
    for sha, cid in cids.items():
        html_part.add_related(digest.thumbs[sha], "image", "jpeg", cid=cid, filename=f"{sha[:12]}.jpg")
    return message
