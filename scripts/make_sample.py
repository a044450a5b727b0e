"""Writes the bundled sample: an instaloader download folder for #meinherztraegtkrone.

The folder looks exactly like `instaloader "#meinherztraegtkrone"` leaves it: per post a
`<date>_UTC.json.xz` written by instaloader's `save_structure_to_file`, the caption as
`<date>_UTC.txt`, and the pictures `<date>_UTC.jpg` (sidecars `<date>_UTC_1.jpg`, `_2.jpg`, …;
videos only their cover, no `.mp4`). Four full weeks, Monday 2026-10-05 to Sunday 2026-11-01,
Siegen's campaign with its three audiences, its partner accounts, and the cases moderation must
handle: spam, insults (also disguised), harmless words that contain bad ones, duplicate captions,
re-encoded and identical pictures, a blocked account, pictures with EXIF orientation and GPS.

`LABELS.json` maps each shortcode to the category the post was written for, for tests and demos.
Deterministic: a fixed seed, so running it again gives the same files.

    .venv/bin/python scripts/make_sample.py [--out sample/meinherztraegtkrone]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import imagehash
import instaloader
from PIL import ExifTags, Image, ImageDraw, ImageEnhance, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from campaign_worker.sources.archive import OfflineContext, read_archive  # noqa: E402

SEED = 20261005
START = datetime(2026, 10, 5, tzinfo=timezone.utc)  # Monday
DAYS = 28  # up to and including Sunday 2026-11-01
END = START + timedelta(days=DAYS)
TOTAL_POSTS = 336
INSTAGRAM_EPOCH_MS = 1_314_220_021_721  # media ids are (ms since this) << 23 | shard | sequence
CDN = "https://scontent-fra5-1.cdninstagram.com"
USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")

COUNTS = {  # everything else is "genuine"
    "partner": 68,
    "spam": 27,
    "profanity": 14,
    "blocked_author": 4,
    "duplicate_caption": 6,
    "near_duplicate_image": 8,  # the last two are byte-identical copies
    "hard_genuine": 14,  # each caption of HARD_GENUINE once
}
SIDECARS_GENUINE, SIDECARS_PARTNER = 8, 4
VIDEOS_GENUINE, VIDEOS_PARTNER = 2, 1
EXIF_POSTS = 6
JPEG_QUALITY = 70
MAX_IMAGE_BYTES = 25 * 1024
MIN_PHASH_DISTANCE = 12  # between unrelated pictures; the campaign treats ≤ 6 as duplicates
MAX_NEAR_DUPLICATE_DISTANCE = 4
SIEGEN_GPS = ((50.0, 52.0, 29.3), (8.0, 1.0, 27.5))  # Oberes Schloss, roughly
FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")  # the committed sample used it
SIZES = [(640, 640), (540, 540), (480, 480), (512, 640), (480, 600), (400, 500), (640, 480), (640, 360), (600, 450)]

BLOCKED_ACCOUNT = "siegen_deals_24"
PARTNERS = {
    "awo_siegen": "AWO Siegen",
    "restaurantbar_siegen": "Restaurant Bar",
    "dasnaschwerk": "das naschwerk",
    "datasec_siegen": "Datasec",
    "wahlgroup": "Wahl Group",
    "weisgerber_siegen": "Weisgerber",
    "porschezentrumsiegen": "Porsche Zentrum Siegen",
    "diakonie_suedwestfalen": "Diakonie Südwestfalen",
    "maneris_ag": "Maneris AG",
    "dango_dienenthal": "Dango & Dienenthal",
    "volksbank_suedwestfalen": "Volksbank in Südwestfalen",
}
FIRST_NAMES = [
    "lena", "jonas", "aylin", "mehmet", "sophie", "lukas", "marie", "paul", "emma", "finn", "hannah",
    "noah", "mia", "elias", "lea", "ben", "emilia", "leon", "sara", "yusuf", "anna", "felix", "nina",
    "tobias", "katharina", "julia", "daniel", "jana", "kevin", "olga", "piotr", "chiara", "luca",
    "amira", "hamza", "jens", "petra", "uwe", "sabine", "joerg", "kerstin", "malte", "ida", "theo",
]
LAST_NAMES = [
    "schneider", "becker", "klein", "wagner", "hoffmann", "schmidt", "jung", "krause", "weber",
    "yilmaz", "nowak", "richter", "braun", "mueller", "schaefer", "koch", "vogel", "peters",
]
NAME_PATTERNS = [
    "{f}.{l}", "{f}_{l}", "{f}{n}", "{f}.siegerland", "{f}_in_siegen", "{l}.{f}", "{f}.outdoor",
    "familie_{l}", "{f}_{l}{n}", "{f}.photography", "{f}_on_tour", "{f}.{l}.si", "team{l}",
]

PLACES = [
    "am Oberen Schloss", "unterm Krönchen", "auf dem Siegberg", "im Hüttental", "an der Universität Siegen",
    "vor dem Apollo-Theater", "im Schlosspark", "an der Sieg", "an der Siegerlandhalle", "auf dem Giersberg",
    "am Fischbacherberg",
]
OPENERS = [
    "Abendlicht {place} 🌇", "Morgennebel {place}.", "Kurze Mittagspause {place} ☀️", "Goldener Oktober {place} 🍂",
    "Sonntagsspaziergang {place}.", "Heute mal mit dem Rad {place} 🚲", "Was für ein Himmel {place}!",
    "Erster Frost {place} ❄️", "Regen, aber trotzdem schön {place} ☔", "Feierabend {place} 🌆",
    "Kaffee zum Mitnehmen und ein Blick {place} ☕", "Herbstfarben {place}.", "Nach der Arbeit noch schnell {place}.",
    "Samstagmorgen {place}.", "Blaue Stunde {place} 💙", "Sonnenuntergang {place} 🧡",
]
AUDIENCE_LINES = {
    "fachkraefte": [
        "Seit einem Jahr arbeite ich als Ingenieurin in Siegen – kurze Wege, tolles Team.",
        "Neuer Job, neue Kollegen, neue Heimat. Die Entscheidung für Siegen war richtig.",
        "Homeoffice mit Blick aufs Krönchen? Geht hier – mein Arbeitgeber macht's möglich.",
        "Weiterbildung zum Techniker geschafft! Danke an mein Team.",
        "In der Pflege arbeiten und abends in zehn Minuten im Wald sein – das ist Siegen.",
        "Nach acht Jahren in München zurück: Die Arbeit hier ist genauso spannend, die Mieten nicht.",
        "Karriere machen, ohne jeden Tag eine Stunde im Stau zu stehen.",
        "Unsere Abteilung sucht noch Fachkräfte für die Elektrotechnik – die Stelle ist ausgeschrieben.",
        "Als Fachkraft für Lagerlogistik habe ich hier in zwei Wochen eine neue Stelle gefunden.",
        "Mein Beruf: Softwareentwicklerin. Mein Arbeitsweg: 12 Minuten zu Fuß.",
        "Jobwechsel nach Siegen – und die Kollegen haben mich vom ersten Tag an mitgenommen.",
        "Im Maschinenbau arbeiten, wo die Weltmarktführer sitzen: im Siegerland.",
    ],
    "azubis": [
        "Erster Tag in der Ausbildung 🎉 Wer ist noch Azubi in Siegen?",
        "Berufsschule geschafft, jetzt ab an die frische Luft.",
        "Im Praktikum beim Maschinenbauer direkt einen Ausbildungsplatz bekommen!",
        "Duales Studium an der Uni Siegen: Theorie und Praxis, beides hier.",
        "Abschluss in der Tasche 🎓 Danke an alle Ausbilderinnen und Ausbilder!",
        "Als Studierende an der Universität Siegen kann ich sagen: beste Aussicht vom Campus.",
        "Lehre als Mechatroniker, Feierabend mit den Jungs. Passt.",
        "Mein zweites Lehrjahr als Elektronikerin startet – und ich bleib hier.",
        "Azubi-Stammtisch heute Abend, wer aus der Berufsschule kommt mit?",
        "Studium in Siegen: WG-Zimmer für unter 400 Euro, davon träumen sie in Köln.",
        "Schule fertig, Ausbildung zur Bankkauffrau angefangen – und nicht weggezogen.",
        "Praktikum in der Pflege gemacht und gemerkt: Das ist mein Ding.",
    ],
    "familien": [
        "Wochenende mit den Kindern auf dem Spielplatz, danach Eis.",
        "Wandern mit der ganzen Familie rund um die Stadt – die Kleinen wollten gar nicht nach Hause.",
        "Die Kita ist fünf Minuten entfernt. Das hatten wir in Köln nie.",
        "Heute Schwimmbad, morgen Ausflug ins Siegerland. Unser Zuhause.",
        "Wir sind zurück in der Heimat – und die Kinder lieben es.",
        "Im Verein kennt hier jeder jeden. Fühlt sich sicher an.",
        "Natur direkt vor der Haustür: Herbstwanderung mit Oma und Opa.",
        "Vor drei Jahren zurückgekommen, mit zwei Kindern und einem Hund. Bereut? Nie.",
        "Laternenbasteln in der Kita, und alle Eltern helfen mit 🏮",
        "Familienausflug mit dem Fahrrad entlang der Sieg.",
        "Unser Großer hat seinen ersten Fußballverein gefunden ⚽",
        "Zuhause ist da, wo die Familie ist – und die ist jetzt in Siegen.",
    ],
}
MIDDLES = [
    "", "", "", "Die Luft riecht nach Herbst.", "Currywurst gab's danach natürlich auch.",
    "Wer kennt die Stelle?", "Handy raus, Foto, weiter.", "Da kann keine Großstadt mithalten.",
    "Ein bisschen Wind, aber egal.", "Die Stadt wird immer schöner.", "Unterschätzt, diese Stadt.",
]
CLOSERS = [
    "Mein Herz trägt Krone 👑", "❤️👑", "Siegen, du bist schön.", "Wer kommt mit?", "Einfach Heimat.",
    "Hier bleib ich.", "👑✨", "Schönes Wochenende euch!", "Grüße aus der Krönchenstadt!", "",
]
EXTRA_TAGS = [
    "#siegen", "#siegerland", "#südwestfalen", "#heimat", "#herbst", "#nrw", "#krönchenstadt",
    "#siegenliebe", "#wandern", "#zuhause", "#karriere", "#ausbildung", "#familie",
]
ENGLISH_GENUINE = [
    "Moved back to Siegen after six years in Berlin – best decision for our family. 👑",
    "Exchange semester at Universität Siegen: the hills are real, and so is the coffee.",
    "Started my new job as an engineer here last month. Great team, short commute.",
    "Sunday walk along the Sieg with the kids. Small city, big heart.",
    "Golden hour at Oberes Schloss. Never thought I'd fall for a small town.",
    "My apprenticeship in mechatronics starts Monday – nervous but excited!",
    "Hiking the Giersberg trail, fog everywhere, loved every minute.",
    "Our kids' new kindergarten is a five-minute walk away. Still can't believe it.",
    "Concert night at the Siegerlandhalle with colleagues from work. 🎶",
    "Autumn colours at Fischbacherberg – the view was worth the climb.",
    "Working remotely with a view of the Krönchen. Not bad at all.",
    "Came for university, stayed for the job. Siegen grows on you.",
    "First snow on the Siegberg? Not yet, but the air smells like it. ❄️",
    "Theatre night at the Apollo – such a beautiful building.",
]
PARTNER_LINES = {
    "awo_siegen": [
        "Unser Kita-Team in Weidenau sucht Erzieherinnen und Erzieher – Familie und Beruf passen bei uns zusammen.",
        "Ausbildung zur Pflegefachkraft bei der AWO: Start im April, Bewerbungen ab jetzt.",
        "Teamausflug zum Giersberg: So sieht Arbeit in der sozialen Arbeit bei uns auch aus.",
        "Offene Stellen in der Tagespflege – Teilzeit, Vollzeit, wie es zu Ihrer Familie passt.",
        "Unsere Azubis stellen sich vor: Heute Mara, 2. Lehrjahr Altenpflege.",
        "Familienzentrum, Kita, Pflege: Bei der AWO Siegen finden Fachkräfte ihren Platz.",
    ],
    "restaurantbar_siegen": [
        "Ausbildung zum Koch (m/w/d) ab August – bei uns lernst du das Handwerk von Grund auf.",
        "Unser Team in der Oberstadt freut sich auf neue Kollegen im Service.",
        "Herbstkarte ist da 🍂 und unsere Azubis haben mitgekocht.",
        "Feierabend-Drink mit Blick aufs Krönchen? Wir haben bis Mitternacht geöffnet.",
        "Praktikum in der Gastronomie: Schnupper bei uns rein, bevor du dich für die Ausbildung entscheidest.",
        "Job mit Aussicht: Wir suchen eine Restaurantleitung, die Siegen liebt.",
    ],
    "dasnaschwerk": [
        "Frisch aus der Backstube: Kronen-Törtchen zum Kampagnenstart 👑",
        "Ausbildung zur Konditorin: Bei uns lernst du, was Zucker alles kann.",
        "Unsere Kollegin Jana hat ihre Meisterprüfung bestanden – wir sind so stolz!",
        "Wochenende = Kuchenzeit. Für Familien mit Kindern gibt's samstags eine kleine Überraschung.",
        "Wir suchen Verstärkung im Verkauf – Teilzeit, familienfreundliche Zeiten.",
        "Praktikum in der Backstube: Früh aufstehen lohnt sich.",
    ],
    "datasec_siegen": [
        "IT-Security made in Siegen: Wir suchen Fachkräfte für unser Security Operations Center.",
        "Duales Studium Informatik bei Datasec – Uni Siegen und Praxis im Team.",
        "Homeoffice, flexible Arbeitszeiten und ein Büro mit Blick auf den Siegberg.",
        "Unsere Azubis als Fachinformatiker haben heute ihr erstes Projekt präsentiert.",
        "Karriere in der IT, ohne in die Großstadt zu ziehen: Jobs in Siegen.",
        "Weiterbildung ist bei uns Arbeitszeit: Diese Woche Cloud-Zertifizierung für das ganze Team.",
    ],
    "wahlgroup": [
        "Ausbildung Industriemechaniker (m/w/d): Bewerbungsphase für 2027 läuft!",
        "Ingenieurinnen und Ingenieure gesucht – Weltmarkt, aber zu Hause im Siegerland.",
        "Tag der offenen Tür in unserem Werk im Hüttental: Familien sind herzlich eingeladen.",
        "Unsere Azubis haben den Berufsschul-Wettbewerb gewonnen 🏆",
        "Karriere im Maschinenbau: Vom Praktikum zur Teamleitung – Sarahs Weg bei uns.",
        "Neue Kollegen im Vertrieb gesucht, Arbeitsort Siegen.",
    ],
    "weisgerber_siegen": [
        "Wir suchen Elektroniker (m/w/d) für unser Team in Siegen – Arbeit mit Zukunft.",
        "Ausbildung im Handwerk: Bei uns bist du vom ersten Tag an auf der Baustelle dabei.",
        "Teamfoto nach dem Firmenlauf an der Sieg 🏃",
        "Familienfreundlicher Arbeitgeber: Unsere Kollegen erzählen, warum sie bleiben.",
        "Praktikum in den Herbstferien? Meld dich bei uns.",
        "Meisterschule bezahlt – Weiterbildung, die sich lohnt.",
    ],
    "porschezentrumsiegen": [
        "Azubi-Tag im Porsche Zentrum Siegen: Kfz-Mechatroniker lernen hier an echten Sportwagen.",
        "Unser Serviceteam sucht Verstärkung – Beruf mit Leidenschaft.",
        "Herbstausfahrt durchs Siegerland, Treffpunkt Siegerlandhalle 🚗",
        "Ausbildung zum Automobilkaufmann (m/w/d): Bewirb dich jetzt.",
        "Unsere Kollegin Lea hat die Weiterbildung zur Serviceberaterin abgeschlossen.",
        "Jobs mit PS: Offene Stellen in Werkstatt und Verkauf.",
    ],
    "diakonie_suedwestfalen": [
        "Pflege mit Herz: Ausbildung zur Pflegefachkraft am Diakonie Klinikum, Start jedes Quartal.",
        "Unsere Ärztinnen und Ärzte erzählen, warum sie in Siegen arbeiten – und geblieben sind.",
        "Kita-Plätze für Mitarbeitende: Familie und Schichtdienst passen zusammen.",
        "Fachkräfte in der Pflege gesucht – wir unterstützen beim Umzug nach Siegen.",
        "Praktikum in der Pflege: Schülerinnen und Schüler können ab sofort reinschnuppern.",
        "Teamwork auf Station 4: Danke an unsere Pflegekräfte!",
    ],
    "maneris_ag": [
        "Beratung und Softwareentwicklung aus Siegen – wir suchen Kollegen für unser Team.",
        "Duales Studium Wirtschaftsinformatik: Uni und Arbeit, beides in Siegen.",
        "Remote-Arbeit? Gibt's. Aber unser Büro am Oberen Schloss ist einfach zu schön.",
        "Weiterbildung für alle: Unser Lernbudget gilt ab dem ersten Arbeitstag.",
        "Familienfreundliche Arbeitszeiten sind bei uns keine Ausnahme.",
        "Neue Stelle: Projektleitung IT (m/w/d), Standort Siegen.",
    ],
    "dango_dienenthal": [
        "Ingenieure für den Anlagenbau gesucht – Projekte weltweit, Zuhause im Siegerland.",
        "Ausbildung zum Konstruktionsmechaniker: Bei uns baust du Maschinen, die die Welt bewegt.",
        "Unsere Azubis beim Besuch der Berufsschule – Gruppenfoto muss sein.",
        "Fachkräfte willkommen: Wir helfen bei Wohnungssuche und Kita-Platz.",
        "Karriere im Familienunternehmen, seit Generationen in Siegen.",
        "Praktikum im Technischen Büro: Jetzt für das Frühjahr bewerben.",
    ],
    "volksbank_suedwestfalen": [
        "Ausbildung zur Bankkauffrau / zum Bankkaufmann: Start im August, bewirb dich jetzt!",
        "Unsere Beraterinnen und Berater leben hier – wie ihre Kundschaft.",
        "Familie gründen, Haus bauen, in Siegen bleiben: Wir begleiten Sie.",
        "Duales Studium Finanzwirtschaft in Kooperation mit der Uni Siegen.",
        "Neue Kollegen in der Filiale am Siegberg – herzlich willkommen im Team!",
        "Weiterbildung zum Bankfachwirt: Drei Kolleginnen haben bestanden 🎉",
    ],
}
PARTNER_CLOSERS = [
    "Mehr auf unserer Website.", "Link in unserem Profil.", "Wir freuen uns auf Sie!", "Wir freuen uns auf dich!",
    "Mein Herz trägt Krone 👑", "Bewerbungen gern auch per WhatsApp.", "", "#arbeitgeber #siegenjobs",
]
HARD_GENUINE = [
    "Die Schwäne am Schwanenteich sind zurück 🦢 Wochenende mit den Kindern im Grünen.",
    "Mein erster Dienst als Assistenzarzt im Klinikum – anstrengend, aber das Team ist großartig.",
    "Klassentreffen nach 20 Jahren in der Siegerlandhalle! Erstaunlich viele sind zurück in der Heimat.",
    "Herbstspaziergang im Schlosspark, danach Kuchen in der Oberstadt. So geht Wochenende.",
    "Frühschicht im Hüttental, Feierabend an der Sieg. Mehr braucht's nicht.",
    "Datenanalyse-Workshop an der Universität Siegen – Analysten und Ingenieure an einem Tisch.",
    "Unser Bassist spielt heute Abend im Apollo-Theater 🎸 Kommt vorbei!",
    "Passfotos für den neuen Ausweis gemacht – offiziell zurück in Siegen!",
    "Cocktailabend mit den Kollegen nach der Weiterbildung 🍹",
    "Assessment Center geschafft – ab Januar Ingenieurin in Siegen!",
    "Great class reunion at the Siegberg – so many of us moved back home.",
    "Staatsexamen bestanden! Jetzt Referendariat an einer Schule in Siegen.",
    "Die Kasseler Kollegen zu Besuch: Natürlich haben wir ihnen das Krönchen gezeigt.",
    "Schnappschuss vom Hüttentaler Wochenmarkt: dicke Kürbisse, dicke Freude 🎃",
]
PROFANITY = [
    "Schon wieder Baustelle auf der HTS. Sch31ße, ihr Vollidioten von der Stadt!",
    "Siegen ist so ein Drecksloch, f*ck this place.",
    "Wer hat den Parkplatz an der Uni so geplant? A.r.s.c.h.l.o.c.h.",
    "Bus schon wieder 20 Minuten zu spät. Scheiße, echt jetzt.",
    "Eure Kampagne ist der größte Bullshit. Verpisst euch mit eurer Krone.",
    "What a sh1tty weather again, f.u.c.k the Siegerland.",
    "Halt die Fresse mit deinem Werbe-Mist, du Wichser.",
    "Diese Hurens0hne haben mein Fahrrad am Bahnhof geklaut!!!",
    "FFS, parking at the Siegerlandhalle is a f***ing joke. Assholes everywhere.",
    "Schei$$e, schon wieder Regen. Dieses Kaff kann mich mal am A**** lecken.",
    "Der Typ vom Ordnungsamt ist so ein M1stkerl, ich schwör.",
    "wtf is this shit, who pays for this campaign?",
    "Ihr seid doch alle bescheuerte Penner da oben im Rathaus.",
    "Fuck off with your crown, Siegen is dead boring.",
]
SPAM_KINDS = {
    "crypto": [
        "💸 Ich verdiene 4.800 € pro Woche mit Forex-Trading – ohne Vorkenntnisse! Schreib mir eine DM 📩",
        "Bitcoin hat mein Leben verändert 🚀 Investiere 250 € und erhalte 3.000 € in 7 Tagen. DM für Infos!",
        "Make $5000 weekly with crypto signals 📈 100% guaranteed. DM me now!",
        "Financial freedom is one click away 💰 Forex mentor with 10 years experience, DM 'INFO'.",
    ],
    "promo": [
        "DM for promo 📩 Send your pics to get featured on our page!",
        "Want more followers? DM for promo 🔥 Fast & cheap, 10k followers in 24h.",
        "Promo available 📢 Shoutout for only 5€ – DM us!",
        "Collab? DM for promo 💌 Brand ambassadors wanted.",
    ],
    "shop": [
        "🔥 Sneaker SALE -70% 🔥 Nur heute! Link in bio 👆",
        "Designer-Uhren zum halben Preis ⌚ Link in bio, Versand weltweit!",
        "Cheap followers & likes 💯 Link in bio 👆👆",
        "Neue Kollektion online 👗 Link in bio, nur 48 Stunden!",
    ],
    "loan": [
        "Kredit ohne Schufa bis 50.000 € 💶 Sofortauszahlung! WhatsApp +49 157 3921 8845",
        "Schnelle Privatkredite, keine Fragen. Ruf an: 0176 48239107",
        "Heiße Dates in deiner Nähe 💋 Diskret und schnell, ruf an: +49 152 0439 7761",
        "Escort-Service Siegen 24/7 💋 Anruf oder WhatsApp 0160 99 81 22 34",
    ],
    "emoji": [
        "🔥🔥🔥😍😍😍💯💯💯👑👑👑",
        "😍😍😍🙌🙌🙌✨✨✨💥💥💥🔥🔥",
        "💯💯💯💯👀👀👀🤑🤑🤑",
        "👑👑👑🔥🔥🔥❤️❤️❤️😘😘",
    ],
    "stuffing": [
        "Nice pic 📸", "Love this 😍", "Follow for more ✨", "Good vibes only ☀️",
    ],
}
STUFFING_TAGS = [
    "love", "instagood", "photooftheday", "fashion", "beautiful", "happy", "cute", "tbt", "like4like",
    "followme", "picoftheday", "follow", "me", "selfie", "summer", "art", "instadaily", "friends", "repost",
    "nature", "girl", "fun", "style", "smile", "food", "instalike", "likeforlike", "travel", "fitness",
    "igers", "tagsforlikes", "nofilter", "life", "beauty", "amazing", "photography",
]
SPAM_ACCOUNTS = {
    "crypto": ["crypto.king.trader77", "forex_profit_daily", "bitcoin_mentor_anna"],
    "promo": ["siegen.promo.page", "followers_boost_24"],
    "shop": ["sneaker_outlet_deal", "best_shop_deals_de"],
    "loan": ["kredit_sofort_24", "hot_dates_nrw"],
    "emoji": ["emoji_love_4ever", "vibes.only.page"],
    "stuffing": ["insta.likes.4u", "followers_boost_24"],
}
BLOCKED_CAPTIONS = [
    "Schönes Siegen 😍 Schau mal in mein Profil für tolle Angebote 👀",
    "Krönchenstadt-Deals nur heute! Profil checken 👆",
    "Wer will gewinnen? Folgen, liken, Profil besuchen 🎁",
    "Siegen-Rabattcodes in meiner Bio 💸",
]
NEAR_DUPLICATE_CAPTIONS = [
    "Gleicher Blick, anderer Tag 😄", "Hab das auch gesehen, musste ich teilen!", "Repost, weil's so schön ist 👑",
    "Dieser Ausblick 😍", "Mein Lieblingsmotiv in Siegen.", "Auch da gewesen heute!",
    "Same view, can't get enough of it.", "Das Bild musste noch raus.",
]
SPAM_TEXTS = {"crypto": "$$$ 4800€/Woche", "promo": "DM FOR PROMO", "shop": "SALE -70%", "loan": "KREDIT SOFORT",
              "emoji": "WOW!!!", "stuffing": "FOLLOW 4 FOLLOW"}
CARD_TEXTS = ["Wir suchen dich!", "Ausbildung 2027", "Jobs in Siegen", "Willkommen im Team", "Mein Herz trägt Krone",
              "Karriere im Siegerland", "Tag der offenen Tür", "Jetzt bewerben"]


@dataclass
class PlannedPost:
    category: str
    author: str
    posted_at: datetime
    caption: str = ""
    kind: str = "image"  # image | video | sidecar
    children: int = 1
    video_children: tuple[int, ...] = ()
    exif: bool = False
    image_of: PlannedPost | None = None  # near-duplicate picture of that post
    exact_image: bool = False
    scene_hint: str = "any"
    card_text: str | None = None
    shortcode: str = ""
    media_id: int = 0
    images: list[bytes] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "sample" / "meinherztraegtkrone")
    args = parser.parse_args(argv)
    rng = random.Random(SEED)
    posts = plan_posts(rng)
    ImageMaker(rng).render_all(posts)
    write_folder(args.out, posts)
    check_folder(args.out, posts)
    report(args.out, posts)
    return 0


# --- planning: who posts what, when -------------------------------------------------------------


def plan_posts(rng: random.Random) -> list[PlannedPost]:
    assert COUNTS["hard_genuine"] == len(HARD_GENUINE) and COUNTS["profanity"] == len(PROFANITY)
    used_times: set[int] = set()
    genuine_authors = make_usernames(rng, 110)
    posts: list[PlannedPost] = []
    regular = TOTAL_POSTS - COUNTS["duplicate_caption"] - COUNTS["near_duplicate_image"]
    categories = ["partner"] * COUNTS["partner"] + ["spam"] * COUNTS["spam"]
    categories += ["profanity"] * COUNTS["profanity"] + ["blocked_author"] * COUNTS["blocked_author"]
    categories += ["hard_genuine"] * COUNTS["hard_genuine"]
    categories += ["genuine"] * (regular - len(categories))
    rng.shuffle(categories)
    spam_plan = plan_spam(rng)
    partner_accounts = sorted(PARTNERS)
    for category in categories:
        weekdays_only = category == "partner"
        when = random_time(rng, used_times, weekdays_only=weekdays_only)
        if category == "partner":
            author = partner_accounts[len([p for p in posts if p.category == "partner"]) % len(partner_accounts)]
        elif category == "spam":
            kind, author = spam_plan.pop()
            posts.append(PlannedPost(category, author, when, scene_hint=f"spam:{kind}", card_text=SPAM_TEXTS[kind]))
            posts[-1].caption = spam_caption(rng, kind, len(spam_plan))
            continue
        elif category == "blocked_author":
            author = BLOCKED_ACCOUNT
        else:
            author = rng.choice(genuine_authors)
        posts.append(PlannedPost(category, author, when))
    # A spammer floods one day: more posts than the daily cap allows.
    flood_day = START + timedelta(days=9)
    for post in [p for p in posts if p.author == "followers_boost_24"]:
        post.posted_at = unique_time(used_times, flood_day + timedelta(hours=rng.randint(7, 18), minutes=rng.randint(0, 59)))
    write_captions(rng, posts)
    plan_media(rng, posts)
    add_duplicates(rng, posts, genuine_authors, used_times)
    posts.sort(key=lambda p: p.posted_at)
    assign_ids(rng, posts)
    per_day = Counter((p.author, p.posted_at.date()) for p in posts if p.category != "spam")
    assert max(per_day.values()) <= 3, "only spammers flood a day"
    assert all(USERNAME.match(p.author) for p in posts), "Instagram user names are ASCII"
    return posts


def make_usernames(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        pattern = rng.choice(NAME_PATTERNS)
        name = pattern.format(f=rng.choice(FIRST_NAMES), l=rng.choice(LAST_NAMES), n=rng.randint(7, 99))
        if name not in names and name not in PARTNERS and len(name) <= 30:
            names.append(name)
    return names


def plan_spam(rng: random.Random) -> list[tuple[str, str]]:
    """(kind, account) for each spam post; followers_boost_24 posts seven times on one day."""
    plan = [("promo", "followers_boost_24")] * 4 + [("stuffing", "followers_boost_24")] * 3
    kinds = sorted(SPAM_KINDS)
    while len(plan) < COUNTS["spam"]:
        kind = kinds[len(plan) % len(kinds)]
        accounts = [a for a in SPAM_ACCOUNTS[kind] if a != "followers_boost_24"]
        plan.append((kind, rng.choice(accounts)))
    rng.shuffle(plan)
    return plan


def spam_caption(rng: random.Random, kind: str, index: int) -> str:
    text = SPAM_KINDS[kind][index % len(SPAM_KINDS[kind])]
    if kind == "stuffing":
        tags = ["meinherztraegtkrone"] + rng.sample(STUFFING_TAGS, rng.randint(26, 32))
        return f"{text}\n" + " ".join(f"#{t}" for t in tags)
    tags = "#meinherztraegtkrone"
    if kind == "crypto":
        tags += " #bitcoin #forex #crypto #money"
    elif kind in ("promo", "shop"):
        tags += " " + rng.choice(["#promo #sale", "#shopping #deal", "#followforfollow", "#siegen"])
    return f"{text} {tags}" if kind == "emoji" else f"{text}\n{tags}"  # spammers repeat themselves


def random_time(rng: random.Random, used: set[int], *, weekdays_only: bool = False) -> datetime:
    while True:
        day = rng.randrange(DAYS)
        weekday = (START + timedelta(days=day)).weekday()
        if weekdays_only and weekday >= 5:
            continue
        if not weekdays_only and weekday < 5 and rng.random() < 0.2:
            continue  # private accounts post a little more at weekends
        earliest, latest = (6, 15) if weekdays_only else (5, 20)
        moment = START + timedelta(days=day, hours=rng.randint(earliest, latest), minutes=rng.randint(0, 59),
                                   seconds=rng.randint(0, 59))
        return unique_time(used, moment)


def unique_time(used: set[int], moment: datetime) -> datetime:
    """instaloader names files by the second: two posts in one second would overwrite each other."""
    stamp = int(moment.timestamp())
    while stamp in used:
        stamp += 7
    used.add(stamp)
    return datetime.fromtimestamp(stamp, timezone.utc)


def write_captions(rng: random.Random, posts: list[PlannedPost]) -> None:
    seen: set[str] = set()
    english = list(ENGLISH_GENUINE)
    rng.shuffle(english)
    hard = list(HARD_GENUINE)
    rng.shuffle(hard)
    profanity = list(PROFANITY)
    rng.shuffle(profanity)
    blocked = 0
    genuine = [p for p in posts if p.category == "genuine"]
    english_posts = set(id(p) for p in rng.sample(genuine, len(english)))
    for post in posts:
        if post.category == "spam":
            continue
        while True:
            if post.category == "genuine" and id(post) in english_posts:
                caption = english.pop() + "\n" + hashtags(rng, english=True)
            elif post.category == "genuine":
                caption = genuine_caption(rng)
            elif post.category == "partner":
                caption = partner_caption(rng, post.author)
            elif post.category == "hard_genuine":
                caption = hard.pop() + "\n\n" + hashtags(rng)
            elif post.category == "profanity":
                caption = profanity.pop() + " " + hashtags(rng, few=True)
            else:  # blocked_author
                caption = BLOCKED_CAPTIONS[blocked % len(BLOCKED_CAPTIONS)] + " " + hashtags(rng, few=True)
                blocked += 1
            if caption not in seen:
                break
        seen.add(caption)
        post.caption = caption


def genuine_caption(rng: random.Random) -> str:
    audience = rng.choice(sorted(AUDIENCE_LINES))
    opener = rng.choice(OPENERS).format(place=rng.choice(PLACES))
    parts = [opener, rng.choice(AUDIENCE_LINES[audience]), rng.choice(MIDDLES)]
    closer = rng.choice(CLOSERS)
    text = " ".join(p for p in parts if p)
    return (text + (f"\n\n{closer}" if closer else "") + "\n" + hashtags(rng)).strip()


def partner_caption(rng: random.Random, account: str) -> str:
    line = rng.choice(PARTNER_LINES[account])
    opener = rng.choice(["", "", "📍 Siegen. ", "Neu bei uns: ", "Aus unserem Team: ", "👑 "])
    closer = rng.choice(PARTNER_CLOSERS)
    return f"{opener}{line}\n\n{closer}\n{hashtags(rng)}".replace("\n\n\n", "\n\n").strip()


def hashtags(rng: random.Random, *, english: bool = False, few: bool = False) -> str:
    campaign = "#MeinHerzTraegtKrone" if rng.random() < 0.15 else "#meinherztraegtkrone"
    extra = [] if few else rng.sample(EXTRA_TAGS, rng.randint(0, 4))
    if english and rng.random() < 0.5:
        extra.append("#germany")
    tags = [campaign] + extra
    rng.shuffle(tags)
    return " ".join(tags)


def plan_media(rng: random.Random, posts: list[PlannedPost]) -> None:
    genuine = [p for p in posts if p.category == "genuine"]
    partner = [p for p in posts if p.category == "partner"]
    picks = rng.sample(genuine, SIDECARS_GENUINE + VIDEOS_GENUINE + EXIF_POSTS)
    partner_picks = rng.sample(partner, SIDECARS_PARTNER + VIDEOS_PARTNER)
    for post in picks[:SIDECARS_GENUINE] + partner_picks[:SIDECARS_PARTNER]:
        post.kind, post.children = "sidecar", rng.randint(2, 4)
    picks[0].video_children = (2,)  # one carousel holds a video as its second item
    for post in picks[SIDECARS_GENUINE:SIDECARS_GENUINE + VIDEOS_GENUINE] + partner_picks[SIDECARS_PARTNER:]:
        post.kind = "video"
    for post in picks[SIDECARS_GENUINE + VIDEOS_GENUINE:]:
        post.exif = True
    for post in partner:
        if rng.random() < 0.5:
            post.scene_hint, post.card_text = "card", rng.choice(CARD_TEXTS)


def add_duplicates(rng: random.Random, posts: list[PlannedPost], authors: list[str], used: set[int]) -> None:
    """Reposted captions and pictures, always after their original and by someone else."""
    early = sorted(
        (p for p in posts if p.category == "genuine" and p.kind == "image" and not p.exif and p.posted_at < END - timedelta(days=5)),
        key=lambda p: p.posted_at,
    )
    originals = rng.sample(early, COUNTS["duplicate_caption"] + COUNTS["near_duplicate_image"])
    near_captions = list(NEAR_DUPLICATE_CAPTIONS)
    for index, original in enumerate(originals):
        author = rng.choice([a for a in authors if a != original.author])
        day = original.posted_at.replace(hour=0, minute=0, second=0) + timedelta(days=rng.randint(1, 4))
        when = unique_time(used, day + timedelta(hours=rng.randint(6, 20), minutes=rng.randint(0, 59)))
        if index < COUNTS["duplicate_caption"]:
            posts.append(PlannedPost("duplicate_caption", author, when, caption=original.caption))
        else:
            exact = index >= len(originals) - 2
            caption = near_captions.pop(0) + " " + hashtags(rng, few=True)
            posts.append(PlannedPost("near_duplicate_image", author, when, caption=caption, image_of=original, exact_image=exact))


def assign_ids(rng: random.Random, posts: list[PlannedPost]) -> None:
    for sequence, post in enumerate(posts):
        millis = int(post.posted_at.timestamp() * 1000) + rng.randint(0, 999)
        post.media_id = ((millis - INSTAGRAM_EPOCH_MS) << 23) | (rng.randrange(2048) << 10) | (sequence % 1024)
        post.shortcode = instaloader.Post.mediaid_to_shortcode(post.media_id)


# --- pictures -----------------------------------------------------------------------------------


class ImageMaker:
    """Simple scenes drawn with Pillow, checked to be perceptually distinct from each other."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.hashes: list[tuple[imagehash.ImageHash, imagehash.ImageHash]] = []

    def render_all(self, posts: list[PlannedPost]) -> None:
        for post in posts:
            if post.image_of is None:
                for index in range(post.children if post.kind == "sidecar" else 1):
                    self.add_fresh(post, with_exif=post.exif and index == 0)
        for post in posts:
            if post.image_of is not None:
                self.add_copy(post)

    def add_fresh(self, post: PlannedPost, *, with_exif: bool) -> None:
        for _ in range(60):
            size = self.rng.choice(SIZES)
            image = self.scene(post, size)
            hashes = (imagehash.phash(image), imagehash.dhash(image))
            if all(hashes[0] - p >= MIN_PHASH_DISTANCE and hashes[1] - d >= MIN_PHASH_DISTANCE for p, d in self.hashes):
                break
        else:
            raise RuntimeError("could not draw a picture distinct enough from the others")
        self.hashes.append(hashes)
        post.images.append(encode(image, exif=with_exif))
        post.sizes.append(size)

    def add_copy(self, post: PlannedPost) -> None:
        original = post.image_of
        assert original is not None
        if post.exact_image:
            post.images.append(original.images[0])
            post.sizes.append(original.sizes[0])
            return
        image = Image.open(io.BytesIO(original.images[0])).convert("RGB")
        scale = self.rng.uniform(0.8, 0.95)
        size = (max(320, int(image.width * scale)), max(320, int(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
        image = ImageEnhance.Brightness(image).enhance(self.rng.uniform(1.04, 1.10))
        data = encode(image, quality=self.rng.choice([55, 60, 65]))
        distance = phash_bytes(data) - phash_bytes(original.images[0])
        if distance > MAX_NEAR_DUPLICATE_DISTANCE:
            raise RuntimeError(f"near-duplicate drifted too far ({distance})")
        post.images.append(data)
        post.sizes.append(size)

    def scene(self, post: PlannedPost, size: tuple[int, int]) -> Image.Image:
        rng = self.rng
        image = Image.new("RGB", size)
        draw = ImageDraw.Draw(image)
        hint = post.scene_hint
        if hint.startswith("spam") or hint == "card":
            self.card(draw, size, post.card_text or "")
        else:
            choice = rng.choice(["landscape", "landscape", "castle", "crown", "shapes", "river"])
            getattr(self, choice)(draw, size)
        return image

    def palette(self) -> tuple[tuple[int, int, int], ...]:
        return tuple(tuple(self.rng.randint(0, 255) for _ in range(3)) for _ in range(4))  # type: ignore[return-value]

    def gradient(self, draw: ImageDraw.ImageDraw, size: tuple[int, int], top, bottom, *, vertical: bool = True) -> None:
        steps = size[1] if vertical else size[0]
        for i in range(steps):
            t = i / max(1, steps - 1)
            colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom))
            box = [0, i, size[0], i] if vertical else [i, 0, i, size[1]]
            draw.line(box, fill=colour)

    def sky(self, draw: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
        tops = [(40, 90, 170), (250, 150, 80), (30, 30, 70), (130, 180, 230), (200, 90, 120), (90, 120, 140)]
        bottoms = [(250, 210, 150), (120, 170, 220), (230, 120, 60), (240, 240, 250), (60, 60, 110)]
        self.gradient(draw, size, self.rng.choice(tops), self.rng.choice(bottoms), vertical=self.rng.random() < 0.8)
        if self.rng.random() < 0.6:
            r = self.rng.randint(size[0] // 14, size[0] // 6)
            x, y = self.rng.randint(r, size[0] - r), self.rng.randint(r, size[1] // 2)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=self.rng.choice([(255, 230, 150), (255, 250, 240), (255, 180, 90)]))

    def hills(self, draw: ImageDraw.ImageDraw, size: tuple[int, int], layers: int) -> None:
        w, h = size
        for layer in range(layers):
            base = h * self.rng.uniform(0.45 + layer * 0.12, 0.6 + layer * 0.12)
            amp, freq, phase = h * self.rng.uniform(0.04, 0.15), self.rng.uniform(1.0, 4.0), self.rng.uniform(0, 6.3)
            shade = self.rng.randint(20, 90)
            colour = (shade // 2, shade + self.rng.randint(20, 80), shade // 2 + self.rng.randint(0, 40))
            points = [(0, h)] + [(x, base + amp * wave(x / w * freq + phase)) for x in range(0, w + 16, 16)] + [(w, h)]
            draw.polygon(points, fill=colour)

    def castle_shape(self, draw: ImageDraw.ImageDraw, size: tuple[int, int], scale: float) -> None:
        w, h = size
        cw, ch = int(w * 0.35 * scale), int(h * 0.25 * scale)
        x = self.rng.randint(0, w - cw)
        y = int(h * self.rng.uniform(0.35, 0.6))
        colour = self.rng.choice([(40, 35, 45), (90, 80, 70), (230, 225, 210), (60, 50, 60)])
        draw.rectangle([x, y, x + cw, y + ch], fill=colour)
        tower_w = max(8, cw // 5)
        for tx in (x - tower_w // 3, x + cw - tower_w + tower_w // 3):
            draw.rectangle([tx, y - ch // 2, tx + tower_w, y + ch], fill=colour)
            draw.polygon([(tx - 3, y - ch // 2), (tx + tower_w // 2, y - ch), (tx + tower_w + 3, y - ch // 2)], fill=colour)
        for cx in range(x, x + cw, max(6, cw // 8) * 2):
            draw.rectangle([cx, y - max(4, ch // 10), cx + max(6, cw // 8), y], fill=colour)
        for wx in range(x + cw // 6, x + cw - 4, max(10, cw // 5)):
            draw.rectangle([wx, y + ch // 3, wx + max(3, cw // 20), y + ch // 2], fill=(250, 220, 120))

    def crown_shape(self, draw: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
        w, h = size
        cw = int(w * self.rng.uniform(0.35, 0.7))
        ch = int(cw * 0.55)
        x, y = self.rng.randint(0, w - cw), self.rng.randint(h // 6, max(h // 6 + 1, h - ch - 10))
        gold = self.rng.choice([(230, 180, 40), (250, 200, 70), (200, 150, 30), (240, 215, 120)])
        spikes = self.rng.choice([3, 5, 7])
        points = [(x, y + ch)]
        for i in range(spikes * 2 + 1):
            px = x + cw * i / (spikes * 2)
            py = y if i % 2 == 0 else y + ch * 0.5
            points.append((px, py))
        points.append((x + cw, y + ch))
        draw.polygon(points, fill=gold)
        draw.rectangle([x, y + int(ch * 0.8), x + cw, y + ch], fill=tuple(max(0, c - 40) for c in gold))
        for i in range(0, spikes * 2 + 1, 2):
            px = x + cw * i / (spikes * 2)
            r = max(3, cw // 30)
            draw.ellipse([px - r, y - r, px + r, y + r], fill=(200, 30, 50))

    def landscape(self, draw: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
        self.sky(draw, size)
        if self.rng.random() < 0.4:
            self.castle_shape(draw, size, self.rng.uniform(0.5, 1.0))
        self.hills(draw, size, self.rng.randint(1, 3))

    def castle(self, draw: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
        self.sky(draw, size)
        self.hills(draw, size, 1)
        self.castle_shape(draw, size, self.rng.uniform(1.2, 1.9))

    def crown(self, draw: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
        a, b, _, _ = self.palette()
        self.gradient(draw, size, a, b, vertical=self.rng.random() < 0.5)
        self.crown_shape(draw, size)
        if self.rng.random() < 0.5:
            self.text(draw, size, self.rng.choice(["Siegen", "Krönchen", "#meinherztraegtkrone", "Siegerland"]))

    def river(self, draw: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
        w, h = size
        self.sky(draw, size)
        self.hills(draw, size, 1)
        water = self.rng.choice([(70, 110, 160), (90, 140, 170), (50, 80, 120)])
        top = h * self.rng.uniform(0.65, 0.8)
        left, right = self.rng.uniform(0.1, 0.6) * w, self.rng.uniform(0.4, 0.9) * w
        draw.polygon([(left, top), (right, top), (w, h), (0, h)], fill=water)
        for _ in range(self.rng.randint(2, 6)):
            tx, tw = self.rng.randint(0, w), self.rng.randint(w // 30, w // 12)
            ty = int(top) - self.rng.randint(0, h // 8)
            draw.polygon([(tx - tw, ty), (tx, ty - tw * 3), (tx + tw, ty)], fill=(30, 70 + self.rng.randint(0, 50), 40))

    def shapes(self, draw: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
        w, h = size
        background = self.palette()[0]
        draw.rectangle([0, 0, w, h], fill=background)
        for _ in range(self.rng.randint(4, 9)):
            x0, y0 = self.rng.randint(-w // 4, w), self.rng.randint(-h // 4, h)
            x1, y1 = x0 + self.rng.randint(w // 8, w // 2), y0 + self.rng.randint(h // 8, h // 2)
            colour = self.palette()[1]
            (draw.ellipse if self.rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)

    def card(self, draw: ImageDraw.ImageDraw, size: tuple[int, int], text: str) -> None:
        a, b, c, _ = self.palette()
        self.gradient(draw, size, a, b, vertical=self.rng.random() < 0.5)
        w, h = size
        for _ in range(self.rng.randint(1, 4)):
            r = self.rng.randint(w // 10, w // 3)
            x, y = self.rng.randint(0, w), self.rng.randint(0, h)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=c)
        self.text(draw, size, text)

    def text(self, draw: ImageDraw.ImageDraw, size: tuple[int, int], text: str) -> None:
        w, h = size
        size_px = max(16, w // max(8, len(text) // 2 + 2))
        while True:
            font, shown = picture_font(size_px, text)
            box = draw.textbbox((0, 0), shown, font=font)
            tw, th = box[2] - box[0], box[3] - box[1]
            if tw <= w - 24 or size_px <= 12:
                break
            size_px -= 2
        text = shown
        x = max(4, min(w - tw - 4, self.rng.randint(0, max(1, w - tw))))
        y = self.rng.randint(h // 8, max(h // 8 + 1, h - th - h // 8))
        light, dark = (255, 255, 255), (20, 20, 30)
        background, ink = (light, dark) if self.rng.random() < 0.5 else (dark, light)
        draw.rectangle([x - 8, y - 6, x + tw + 8, y + th + 14], fill=background)
        draw.text((x - box[0], y - box[1]), text, font=font, fill=ink)


def picture_font(size: int, text: str) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, str]:
    """DejaVu Sans (Debian's default, has umlauts); Pillow's built-in font lacks them, so fold."""
    if FONT_FILE.exists():
        return ImageFont.truetype(str(FONT_FILE), size), text
    fold = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
    return ImageFont.load_default(size=size), text.translate(fold)


def wave(x: float) -> float:
    return math.sin(x * math.pi) * 0.7 + math.sin(x * math.pi * 2.3 + 1.0) * 0.3


def phash_bytes(data: bytes) -> imagehash.ImageHash:
    return imagehash.phash(Image.open(io.BytesIO(data)))


def encode(image: Image.Image, *, exif: bool = False, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes ≤ 25 KB; with `exif`, stored sideways with an orientation tag and Siegen's GPS position."""
    extra = {}
    if exif:
        # Orientation 6 means "turn 90° clockwise to show": store it turned the other way.
        image = image.transpose(Image.Transpose.ROTATE_90)
        tags = Image.Exif()
        tags[ExifTags.Base.Orientation] = 6
        tags[ExifTags.Base.Make] = "Apple"
        tags[ExifTags.Base.Model] = "iPhone 13"
        gps = tags.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", SIEGEN_GPS[0]
        gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", SIEGEN_GPS[1]
        extra["exif"] = tags
    for q in range(quality, 20, -5):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=q, optimize=True, **extra)
        if buffer.tell() <= MAX_IMAGE_BYTES:
            return buffer.getvalue()
    raise RuntimeError("picture does not fit into 25 KB")


# --- writing the folder -------------------------------------------------------------------------


def owner_id(username: str) -> str:
    digest = hashlib.sha256(username.encode()).digest()
    return str(1_000_000_000 + int.from_bytes(digest[:6], "big") % 70_000_000_000)


def build_node(post: PlannedPost, rng: random.Random) -> dict:
    """A post node shaped like the full metadata instaloader stores after a download."""
    typename = {"image": "GraphImage", "video": "GraphVideo", "sidecar": "GraphSidecar"}[post.kind]
    width, height = post.sizes[0]
    likes = rng.randint(0, 40) if post.category in ("spam", "blocked_author") else rng.randint(3, 900)
    node = {
        "__typename": typename,
        "id": str(post.media_id),
        "shortcode": post.shortcode,
        "dimensions": {"height": height, "width": width},
        "display_url": cdn_image_url(post.media_id, 0),
        "is_video": post.kind == "video",
        "accessibility_caption": f"Photo by @{post.author} in Siegen, Germany.",
        "edge_media_to_caption": {"edges": [{"node": {"text": post.caption}}]},
        "edge_media_to_comment": {"count": rng.randint(0, 60)},
        "comments_disabled": False,
        "taken_at_timestamp": int(post.posted_at.timestamp()),
        "edge_liked_by": {"count": likes},
        "edge_media_preview_like": {"count": likes},
        "owner": {"id": owner_id(post.author), "username": post.author},
        "thumbnail_src": cdn_image_url(post.media_id, 0, thumbnail=True),
    }
    if post.kind == "video":
        node["video_url"] = cdn_video_url(post.media_id, 0)
        node["video_view_count"] = rng.randint(100, 9000)
        node["video_duration"] = round(rng.uniform(6, 45), 3)
        node["product_type"] = "clips"
    if post.kind == "sidecar":
        children = []
        for index, (child_w, child_h) in enumerate(post.sizes):
            is_video = index + 1 in post.video_children
            child = {
                "__typename": "GraphVideo" if is_video else "GraphImage",
                "id": str(post.media_id + index + 1),
                "shortcode": instaloader.Post.mediaid_to_shortcode(post.media_id + index + 1),
                "dimensions": {"height": child_h, "width": child_w},
                "display_url": cdn_image_url(post.media_id, index + 1),
                "is_video": is_video,
            }
            if is_video:
                child["video_url"] = cdn_video_url(post.media_id, index + 1)
                child["video_view_count"] = rng.randint(100, 4000)
            children.append({"node": child})
        node["edge_sidecar_to_children"] = {"edges": children}
    return node


def cdn_image_url(media_id: int, index: int, *, thumbnail: bool = False) -> str:
    size = "s640x640" if thumbnail else "p1080x1080"
    return f"{CDN}/v/t51.29350-15/{media_id + index}_n.jpg?stp=dst-jpg_e35_{size}&_nc_ht=scontent-fra5-1.cdninstagram.com"


def cdn_video_url(media_id: int, index: int) -> str:
    return f"{CDN}/o1/v/t16/f2/m86/{media_id + index}_video_dashinit.mp4?_nc_ht=scontent-fra5-1.cdninstagram.com"


def file_stem(post: PlannedPost) -> str:
    return post.posted_at.strftime("%Y-%m-%d_%H-%M-%S") + "_UTC"


def write_folder(out: Path, posts: list[PlannedPost]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():  # only what this script writes, never anything else
        if old.is_file() and (old.name.endswith(("_UTC.json.xz", ".jpg", "_UTC.txt")) or old.name == "LABELS.json"):
            old.unlink()
    rng = random.Random(SEED + 1)
    context = OfflineContext()
    for post in posts:
        stem = file_stem(post)
        instaloader.save_structure_to_file(instaloader.Post(context, build_node(post, rng)), str(out / f"{stem}.json.xz"))
        (out / f"{stem}.txt").write_text(post.caption + "\n", encoding="utf-8")
        if post.kind == "sidecar":
            for index, data in enumerate(post.images, start=1):
                (out / f"{stem}_{index}.jpg").write_bytes(data)
        else:
            (out / f"{stem}.jpg").write_bytes(post.images[0])
    labels = {post.shortcode: post.category for post in posts}
    (out / "LABELS.json").write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def check_folder(out: Path, posts: list[PlannedPost]) -> None:
    """Read everything back with instaloader's own loader and with the archive source."""
    context = OfflineContext()
    for post in posts:
        loaded = instaloader.load_structure_from_file(context, str(out / f"{file_stem(post)}.json.xz"))
        assert isinstance(loaded, instaloader.Post) and loaded.shortcode == post.shortcode
        assert loaded.caption == post.caption and loaded.date_utc == post.posted_at.replace(tzinfo=None)
    result = read_archive(out)
    assert not result.problems, result.problems
    assert len(result.posts) == len(posts), (len(result.posts), len(posts))


def report(out: Path, posts: list[PlannedPost]) -> None:
    files = [f for f in out.iterdir() if f.is_file()]
    total = sum(f.stat().st_size for f in files)
    images = [f for f in files if f.suffix == ".jpg"]
    print(f"{len(posts)} posts in {out}")
    for category, count in sorted(Counter(p.category for p in posts).items()):
        print(f"  {category:22} {count:4}")
    print(f"  sidecars {sum(p.kind == 'sidecar' for p in posts)}, videos {sum(p.kind == 'video' for p in posts)},"
          f" with EXIF/GPS {sum(p.exif for p in posts)}, exact picture copies {sum(p.exact_image for p in posts)}")
    print(f"  {posts[0].posted_at:%Y-%m-%d %H:%M} – {posts[-1].posted_at:%Y-%m-%d %H:%M} UTC")
    print(f"  {len(images)} pictures, largest {max(f.stat().st_size for f in images) // 1024} KB")
    print(f"  {len(files)} files, {total / 1024 / 1024:.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
