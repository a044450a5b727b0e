"""Campaign files: the shipped examples are valid, and every kind of mistake is named clearly."""

from __future__ import annotations

import pytest

from campaign_worker.cli.main import main
from campaign_worker.config.campaigns import ConfigError, check_campaigns, fold_hashtag, load_campaigns, parse_campaign

MINIMAL = """
name = "Testkampagne"
hashtags = ["#MeinHerzTrägtKrone"]
[[audiences]]
key = "fachkraefte"
label = "Fachkräfte"
"""


def write(home, slug: str, text: str):
    path = home.root / "config" / "campaigns" / f"{slug}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_campaigns_are_valid(home):
    campaigns = load_campaigns(home)
    assert {"siegen", "medizin-pflege"} <= set(campaigns)
    siegen = campaigns["siegen"]
    assert siegen.hashtags == ["meinherztraegtkrone"]
    assert [a.key for a in siegen.audiences] == ["fachkraefte", "azubis", "familien"]
    assert siegen.audience("azubis").tone == "du"
    assert len(siegen.partners) == 11
    assert "awo_siegen" in siegen.partner_accounts
    pflege = campaigns["medizin-pflege"]
    assert {"pflege", "studierende", "aerzte"} <= {a.key for a in pflege.audiences}


def test_hashtags_fold_umlauts(home):
    campaign = parse_campaign(write(home, "test", MINIMAL))
    assert campaign.hashtags == ["meinherztraegtkrone"]
    assert campaign.timezone == "Europe/Berlin"
    assert fold_hashtag("#Südwestfalen") == "suedwestfalen"


def test_user_file_overrides_shipped_one(home):
    write(home, "siegen", MINIMAL.replace("Testkampagne", "Eigene Fassung"))
    assert load_campaigns(home)["siegen"].name == "Eigene Fassung"
    assert "medizin-pflege" not in load_campaigns(home)


TYPOS = """name = "Vielfalt – das sind wir!"
hashtagz = ["vielfalt"]

[[audiences]]
key = "fachkraefte"
label = "Fachkräfte"

[[partners]]
name = "Stadtwerke"
accounts = ["stadtwerke.erfurt"]

[[partners]]
name = "Klinikum"
accounts = ["klinikum.erfurt", "@helios_erfurt"]

[digest]
highlights = true

[[sources]]
id = "insta"
type = "instagram"
username = "vielfalt_team"
max_request_per_run = 5
"""


def test_mistakes_are_told_with_line_key_as_written_expectation_and_nearest_key(home, capsys):
    write(home, "erfurt", TYPOS)

    assert main(["--home", str(home.root), "config", "check"]) == 2

    err = " ".join(capsys.readouterr().err.split())
    assert "erfurt.toml" in err
    assert "Zeile / line 2, `hashtagz`: unbekannter Schlüssel / unknown key – meinten Sie / did you mean `hashtags`?" in err
    assert "`hashtags`: Pflichtangabe fehlt" in err
    assert ("Zeile / line 14, [[partners]] Nr. 2 → `accounts`, Eintrag / item 2: erwartet / expected ein Instagram-Name"
            in err) and "ohne @" in err and "'@helios_erfurt'" in err
    assert "Zeile / line 17, [digest] → `highlights`: erwartet / expected eine ganze Zahl" in err and "found: true" in err
    assert "Zeile / line 23, [[sources]] Nr. 1 → `max_request_per_run`" in err and "`max_requests_per_run`?" in err
    assert "partners.1" not in err and "String should match" not in err  # no validator jargon, no zero-based paths


def test_a_campaign_can_be_switched_off(home):
    write(home, "pause", "enabled = false\n" + MINIMAL)
    assert parse_campaign(home.root / "config" / "campaigns" / "pause.toml").enabled is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL + "\nfoo = 1\n", "[[audiences]] Nr. 1 → `foo`: unbekannter Schlüssel / unknown key"),
        (MINIMAL.replace('name = "Testkampagne"', ""), "`name`: Pflichtangabe fehlt"),
        ("name = 'x'\nhashtags = [\n", "not valid TOML"),
        ('timezone = "Mars/Olympus"\n' + MINIMAL, "unknown time zone 'Mars/Olympus'"),
        (MINIMAL.replace('"#MeinHerzTrägtKrone"', '"mein herz"'), "is not a hashtag"),
        (MINIMAL + '[[audiences]]\nkey = "fachkraefte"\nlabel = "Doppelt"\n', "duplicate audience key: fachkraefte"),
        (MINIMAL.replace('key = "fachkraefte"', 'key = "Fach Kräfte"'), "[[audiences]] Nr. 1 → `key`: erwartet / expected ein kurzer Schlüssel"),
        (MINIMAL + '[[sources]]\nid = "x"\ntype = "myspace"\n', "[[sources]] Nr. 1: erwartet / expected type: einer von"),
        (MINIMAL + "[moderation]\nauthor_daily_cap = 0\n", "[moderation] → `author_daily_cap`: erwartet / expected mindestens 1"),
        (MINIMAL + '[digest]\nrecipients = ["kein-mailer"]\n', "[digest] → `recipients`, Eintrag / item 1"),
    ],
)
def test_bad_files_name_the_key(home, text, expected):
    path = write(home, "kaputt", text)
    with pytest.raises(ConfigError) as caught:
        parse_campaign(path)
    assert caught.value.path == path
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_slug_must_match_file_name(home):
    with pytest.raises(ConfigError, match="differs from the file name"):
        parse_campaign(write(home, "eins", 'slug = "zwei"\n' + MINIMAL))


def test_config_check_reports_every_bad_file_with_exit_code_2(home, capsys):
    write(home, "gut", MINIMAL)
    write(home, "kaputt", MINIMAL + "\nfoo = 1\n")
    write(home, "auch-kaputt", "name = ")
    code = main(["--home", str(home.root), "config", "check"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "kaputt.toml" in err and "auch-kaputt.toml" in err
    assert "`foo`: unbekannter Schlüssel / unknown key" in err
    assert "Traceback" not in out + err
    assert "ok  gut" in out  # the good files are still listed


def test_config_check_passes_on_shipped_files(home, capsys):
    assert main(["--home", str(home.root), "config", "check"]) == 0
    assert "siegen" in capsys.readouterr().out


def test_check_campaigns_collects_all_errors(home):
    write(home, "a", "x = ")
    write(home, "b", MINIMAL + "\nbar = 2\n")
    write(home, "c", MINIMAL)
    campaigns, errors = check_campaigns(home)
    assert {e.path.stem for e in errors} == {"a", "b"}
    assert set(campaigns) == {"c"}  # a home with files of its own: the shipped campaigns stay out


def test_unusable_database_is_a_message_not_a_traceback(home, capsys, monkeypatch):
    (home.data_dir / "campaign-worker.sqlite3").write_text("kein SQLite", encoding="utf-8")
    assert main(["--home", str(home.root), "stats"]) == 2
    err = capsys.readouterr().err
    assert "Datenbank nicht nutzbar" in err and "file is not a database" in err and "Traceback" not in err
    monkeypatch.setenv("CAMPAIGN_WORKER_DATABASE_URL", "mysql://x@127.0.0.1/y")
    assert main(["--home", str(home.root), "stats"]) == 2
    assert "unsupported database" in capsys.readouterr().err
