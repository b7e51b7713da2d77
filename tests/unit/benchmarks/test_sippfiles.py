"""SIPp's statistics and response-time files, and the injection files we give it."""

from __future__ import annotations

import pytest

from benchmarks.load.sippfiles import (
    Response,
    by_rtd,
    completion_rate,
    counter,
    epoch_of,
    injection_file,
    parse_rtt_csv,
    parse_sipp_duration,
    parse_stat_csv,
)

# the first columns and the response-time columns of a SIPp 3.6.1 -trace_stat file, two rows
STAT_CSV = (
    "StartTime;LastResetTime;CurrentTime;ElapsedTime(P);ElapsedTime(C);TargetRate;"
    "CallRate(P);CallRate(C);OutgoingCall(P);OutgoingCall(C);CurrentCall;SuccessfulCall(P);"
    "SuccessfulCall(C);FailedCall(P);FailedCall(C);Retransmissions(P);Retransmissions(C);"
    "ResponseTimesetup(P);ResponseTimesetup(C);\n"
    "2026-11-24\t17:03:15.365212\t1795539795.365212;2026-11-24\t17:03:15.365212\t"
    "1795539795.365212;2026-11-24\t17:03:15.365583\t1795539795.365583;00:00:00;00:00:00;200;"
    "0;0;0;0;0;0;0;0;0;0;0;00:00:00:000000;00:00:00:000000;\n"
    "2026-11-24\t17:03:15.365212\t1795539795.365212;2026-11-24\t17:03:20.451096\t"
    "1795539800.451096;2026-11-24\t17:03:20.451197\t1795539800.451197;00:00:05;00:00:05;200;"
    "196.657;196.657;1000;1000;0;9;9;991;991;12;12;00:00:00:007000;00:00:01:250000;\n"
)


def test_statistics_rows_are_keyed_by_the_header() -> None:
    rows = parse_stat_csv(STAT_CSV)
    assert len(rows) == 2
    last = rows[-1]
    assert counter(last, "SuccessfulCall(C)") == 9
    assert counter(last, "FailedCall(C)") == 991
    assert counter(last, "Retransmissions(C)") == 12
    assert counter(last, "CallRate(C)") == 196
    assert counter(last, "NoSuchColumn(C)") == 0
    assert parse_sipp_duration(last["ResponseTimesetup(C)"]) == pytest.approx(1.25)
    assert epoch_of(last["CurrentTime"]) == pytest.approx(1795539800.451197)


def test_statistics_without_rows() -> None:
    assert parse_stat_csv("") == []
    assert parse_stat_csv("StartTime;CurrentTime;\n") == []


def test_durations() -> None:
    assert parse_sipp_duration("01:02:03:000004") == pytest.approx(3723.000004)
    with pytest.raises(ValueError):
        parse_sipp_duration("00:00:01")


def test_response_times_by_name_and_their_rate() -> None:
    text = ("Date_ms;response_time_ms;rtd_no\n36.001;28;setup\n36.001;24;setup\n"
            "1036.5;0;challenge\n\n2036.001;4;setup\nbroken;line;here\n")
    responses = parse_rtt_csv(text)
    assert responses[0] == Response(36.001, 28.0, "setup")
    grouped = by_rtd(responses)
    assert [r.ms for r in grouped["setup"]] == [28.0, 24.0, 4.0]
    assert len(grouped["challenge"]) == 1
    # three answers over two seconds: two intervals
    assert completion_rate(grouped["setup"]) == pytest.approx(1.0)
    assert completion_rate(grouped["challenge"]) == 0.0


def test_injection_file() -> None:
    text = injection_file([("10000", "[authentication username=10000 password=pw]"),
                           ("10001", "x")])
    assert text == ("SEQUENTIAL\n10000;[authentication username=10000 password=pw];\n"
                    "10001;x;\n")
    assert injection_file([("1",)], "RANDOM").startswith("RANDOM\n")
    with pytest.raises(ValueError):
        injection_file([], "SORTED")
