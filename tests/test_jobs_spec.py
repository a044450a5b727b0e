"""Job declarations in jobs/*.toml: validation, German descriptions, DST-safe triggers and slots."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from campaign_worker.cli.main import main
from campaign_worker.config.campaigns import ConfigError
from campaign_worker.scheduler.jobs import check_jobs, get_job, jobs_folder, load_jobs, parse_job
from tests.scheduler_support import spec

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def write_job(home, name: str, text: str):
    folder = home.root / "jobs"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_jobs_are_valid_and_described_in_german(home):
    specs, errors = check_jobs(home)
    assert errors == []
    by_name = {s.name: s for s in specs}
    assert set(by_name) == {"collect", "moderate", "drafts", "digest", "retention"}
    assert by_name["digest"].describe_when() == "montags um 08:00 (Europe/Berlin)"
    assert by_name["retention"].describe_when() == "täglich um 04:30 (Europe/Berlin)"
    assert by_name["collect"].describe_when() == "alle 30 Minuten (:00, :30)"
    assert by_name["moderate"].describe_when() == "alle 30 Minuten (:10, :40)"
    assert by_name["collect"].jitter_seconds > 0
    assert "Kampagnen: alle" in by_name["collect"].describe()


@pytest.mark.parametrize(
    "text, expected",
    [
        ('task = "nope"\n[trigger]\ntype = "interval"\nminutes = 30\n', "unknown task 'nope'"),
        ('task = "digest"\n[trigger]\ntype = "cron"\nhour = 2\nminute = 30\n', "02:00–03:00"),
        ('task = "digest"\n[trigger]\ntype = "cron"\nday_of_week = "1"\nhour = 8\n', "numbers are refused"),
        ('task = "collect"\n[trigger]\ntype = "interval"\nminutes = 45\n', "does not divide 60"),
        ('task = "collect"\n[trigger]\ntype = "interval"\nminutes = 30\nhours = 1\n', "exactly one of"),
        ('task = "collect"\njitter_seconds = 1000\n[trigger]\ntype = "interval"\nminutes = 30\n', "jitter_seconds = 1000 is too large"),
        ('task = "collect"\ntimezone = "Mars/Olympus"\n[trigger]\ntype = "interval"\nminutes = 5\n', "unknown time zone"),
        ('task = "collect"\ncampaigns = ["gibtsnicht"]\n[trigger]\ntype = "interval"\nminutes = 5\n', "unknown campaign(s) gibtsnicht"),
        ('task = "collect"\nschedule = "hourly"\n[trigger]\ntype = "interval"\nminutes = 5\n', "`schedule`: unbekannter Schlüssel / unknown key"),
        ('task = "collect"\n[trigger]\ntype = "cron"\nhour = "*"\n', 'type = "interval"'),
        ('task = "collect"\n[trigger\n', "not valid TOML"),
    ],
)
def test_bad_job_files_name_file_key_and_fix(home, text, expected):
    path = write_job(home, "broken", text)
    specs, errors = check_jobs(home)
    assert specs == []
    assert len(errors) == 1
    assert errors[0].path == path
    assert expected in str(errors[0])


def test_config_check_reports_bad_job_with_exit_code_2(home, capsys):
    write_job(home, "digest", 'task = "digest"\n[trigger]\ntype = "cron"\nhour = 2\n')
    code = main(["--home", str(home.root), "config", "check"])
    err = capsys.readouterr().err.replace("\n", "")  # rich wraps long lines
    assert code == 2
    assert "digest.toml" in err and "02:00–03:00" in err
    assert "Traceback" not in err


def test_own_jobs_folder_replaces_the_shipped_set(home):
    assert jobs_folder(home).name == "jobs" and jobs_folder(home) != home.root / "jobs"
    write_job(home, "nightly", 'task = "retention"\n[trigger]\ntype = "cron"\nhour = 3\nminute = 15\n')
    assert list(load_jobs(home)) == ["nightly"]
    with pytest.raises(ConfigError, match="known: nightly"):
        get_job(home, "collect")


def test_name_key_must_match_file(home):
    path = write_job(home, "a", 'name = "b"\ntask = "retention"\n[trigger]\ntype = "interval"\nhours = 1\n')
    with pytest.raises(ConfigError, match="differs from the file name"):
        parse_job(path)


def _mondays(job, start: datetime, count: int) -> list[datetime]:
    trigger = job.build_trigger(jitter=False)
    times, cursor = [], trigger.get_next_fire_time(None, start)
    while len(times) < count:
        times.append(cursor)
        cursor = trigger.get_next_fire_time(cursor, cursor + timedelta(microseconds=1))
    return times


@pytest.mark.parametrize(
    "start, utc_hours",
    [
        # DST ends Sunday 25 Oct 2026: 08:00 CEST = 06:00 UTC before, 08:00 CET = 07:00 UTC after.
        (datetime(2026, 10, 6, tzinfo=UTC), [6, 6, 7, 7]),
        # DST starts Sunday 29 Mar 2026: 08:00 CET = 07:00 UTC before, 08:00 CEST = 06:00 UTC after.
        (datetime(2026, 3, 10, tzinfo=UTC), [7, 7, 6, 6]),
    ],
)
def test_digest_fires_monday_0800_berlin_across_dst(home, start, utc_hours):
    digest = load_jobs(home)["digest"]
    fires = _mondays(digest, start, 4)
    local = [f.astimezone(BERLIN) for f in fires]
    assert [d.weekday() for d in local] == [0, 0, 0, 0]  # Monday, never Tuesday
    assert {(d.hour, d.minute) for d in local} == {(8, 0)}
    assert [f.astimezone(UTC).hour for f in fires] == utc_hours
    assert all(b - a in (timedelta(days=7), timedelta(days=7, hours=1), timedelta(days=7, hours=-1)) for a, b in zip(fires, fires[1:]))


def test_daily_job_runs_once_per_day_through_both_dst_changes(home):
    retention = load_jobs(home)["retention"]
    for start in (datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC)):
        fires = _mondays(retention, start, 5)
        assert [(f.astimezone(BERLIN).hour, f.astimezone(BERLIN).minute) for f in fires] == [(4, 30)] * 5
        assert len({f.astimezone(BERLIN).date() for f in fires}) == 5


def test_interval_slots_are_evenly_spaced_in_utc_through_the_october_night():
    job = spec("c", "collect", trigger={"type": "interval", "minutes": 30})
    fires = _mondays(job, datetime(2026, 10, 24, 23, 0, tzinfo=UTC), 8)  # 01:00–04:30 local, 02:xx twice
    assert all(b - a == timedelta(minutes=30) for a, b in zip(fires, fires[1:]))


def test_slot_of_a_jittered_run_is_its_nominal_time():
    job = spec("c", "collect", jitter_seconds=120)
    assert job.slot_for(datetime(2026, 11, 2, 10, 31, 59, tzinfo=UTC)) == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    assert job.slot_for(datetime(2026, 11, 2, 10, 30, 0, tzinfo=UTC)) == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    assert job.last_slot(datetime(2026, 11, 2, 13, 10, tzinfo=UTC)) == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)


def test_trigger_fingerprint_changes_only_with_the_schedule():
    a = spec("c", "collect", max_retries=0)
    assert a.fingerprint() == spec("c", "collect", max_retries=3, misfire_grace_seconds=99).fingerprint()
    assert a.fingerprint() != spec("c", "collect", trigger={"type": "interval", "minutes": 15}).fingerprint()
    assert a.fingerprint() != spec("c", "collect", jitter_seconds=30).fingerprint()


def test_jobs_command_lists_declarations_with_next_run(home, capsys):
    assert main(["--home", str(home.root), "jobs"]) == 0
    out = capsys.readouterr().out
    for text in ("collect", "digest", "montags um 08:00", "retention", "Nächster Lauf"):
        assert text in out
