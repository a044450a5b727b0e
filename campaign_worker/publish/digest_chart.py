"""The digest's chart, drawn with Pillow as a PNG: posts per day of the week by state (stacked
bars) and the four-week trend of collected and approved posts. The same bytes go into the
e-mail (cid:) and the page (data: URI); German day names, dates and numbers."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.numbers import format_decimal
from PIL import Image, ImageDraw, ImageFont

from campaign_worker.publish.digest_figures import LOCALES, WeekDigest

WIDTH, HEIGHT = 1200, 480
COLOURS = {"approved": (46, 125, 80), "open": (230, 162, 40), "rejected": (190, 60, 60), "collected": (150, 170, 205)}
INK, GRID, BACKGROUND = (29, 36, 51), (225, 229, 237), (255, 255, 255)
DAYS = {"de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"), "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
TEXTS = {
    "de": {"per_day": "Beiträge pro Tag", "trend": "Vier Wochen", "approved": "freigegeben", "open": "offen",
           "rejected": "abgelehnt", "collected": "gesammelt"},
    "en": {"per_day": "Posts per day", "trend": "Four weeks", "approved": "approved", "open": "open",
           "rejected": "rejected", "collected": "collected"},
}


FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)
FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@lru_cache(maxsize=1)
def _font_file() -> str | None:
    return next((path for path in FONT_FILES if Path(path).is_file()), None)


@lru_cache(maxsize=8)
def _font(size: int):
    """A system font with umlauts (DejaVu or Liberation); else Pillow's own, which has none."""
    path = _font_file()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


def _label(text: str, font) -> str:
    """`text`, with umlauts spelt out when only Pillow's own font is there."""
    return text if _font_file() else text.translate(FOLD)


def _nice_max(value: int) -> int:
    if value <= 4:
        return 4
    step = 10 ** (len(str(value)) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        top = int(step * factor)
        if top >= value and top % 4 == 0:
            return top
    return ((value + 3) // 4) * 4


def _axis(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], top: int, locale: str, font) -> None:
    left, upper, right, lower = box
    for i in range(5):
        y = lower - (lower - upper) * i // 4
        draw.line((left, y, right, y), fill=GRID, width=1)
        draw.text((left - 8, y), format_decimal(top * i // 4, locale=locale), fill=INK, font=font, anchor="rm")


def render_chart(digest: WeekDigest) -> bytes:
    """The PNG bytes of the week's chart."""
    language = "en" if digest.campaign.language == "en" else "de"
    locale, texts = LOCALES[language], TEXTS[language]
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title, small, tiny = _font(24), _font(17), _font(15)

    # Left: the seven days, stacked by state.
    box = (80, 70, 700, 400)
    draw.text((box[0] - 60, 20), _label(texts["per_day"], title), fill=INK, font=title)
    day_totals = [sum(day.values()) for day in digest.per_day]
    top = _nice_max(max(day_totals, default=0))
    _axis(draw, box, top, locale, tiny)
    slot = (box[2] - box[0]) // 7
    for index, (day, counts) in enumerate(zip(digest.week.days(), digest.per_day)):
        x0 = box[0] + index * slot + slot // 5
        x1 = x0 + slot * 3 // 5
        y = box[3]
        for state in ("approved", "open", "rejected"):
            height = round((box[3] - box[1]) * counts[state] / top)
            if height:
                draw.rectangle((x0, y - height, x1, y - 1), fill=COLOURS[state])
            y -= height
        if day_totals[index]:
            draw.text(((x0 + x1) // 2, y - 6), format_decimal(day_totals[index], locale=locale), fill=INK, font=tiny, anchor="md")
        label = f"{DAYS[language][index]} {day.day}.{day.month}." if language == "de" else f"{DAYS[language][index]} {day.day}/{day.month}"
        draw.text(((x0 + x1) // 2, box[3] + 10), label, fill=INK, font=small, anchor="ma")

    # Right: four weeks, collected behind approved.
    box = (810, 70, 1170, 400)
    draw.text((box[0] - 50, 20), _label(texts["trend"], title), fill=INK, font=title)
    collected = next(r.trend for r in digest.rows if r.key == "collected")
    approved = next(r.trend for r in digest.rows if r.key == "approved")
    top = _nice_max(max(collected, default=0))
    _axis(draw, box, top, locale, tiny)
    slot = (box[2] - box[0]) // len(collected)
    for index, (week, total, ok) in enumerate(zip(digest.trend_weeks, collected, approved)):
        x0 = box[0] + index * slot + slot // 6
        x1 = x0 + slot * 2 // 3
        for value, colour, inset in ((total, COLOURS["collected"], 0), (ok, COLOURS["approved"], slot // 8)):
            height = round((box[3] - box[1]) * value / top)
            if height:
                draw.rectangle((x0 + inset, box[3] - height, x1 - inset, box[3] - 1), fill=colour)
        draw.text(((x0 + x1) // 2, box[3] - round((box[3] - box[1]) * total / top) - 6),
                  format_decimal(total, locale=locale), fill=INK, font=tiny, anchor="md")
        draw.text(((x0 + x1) // 2, box[3] + 10), week.kw(language), fill=INK, font=small, anchor="ma",
                  stroke_width=1 if week == digest.week else 0, stroke_fill=INK)

    # Legend.
    x = 80
    for state in ("approved", "open", "rejected", "collected"):
        draw.rectangle((x, 444, x + 18, 462), fill=COLOURS[state])
        draw.text((x + 26, 453), _label(texts[state], small), fill=INK, font=small, anchor="lm")
        x += 60 + int(draw.textlength(texts[state], font=small))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
