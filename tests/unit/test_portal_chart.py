"""« Mon étude »: the server-drawn SVG charts and the weekly buckets of upcoming ends."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from connector.portal.chart import bar_chart, column_chart, ends_per_week, weeks

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_bar_chart_is_an_accessible_image_with_one_bar_per_row():
    svg = parse(bar_chart("s", "Comptes par statut", [("accordé", 8, "#1e6b3a"),
                                                      ("en attente", 2, "#8a5a00"),
                                                      ("expiré", 0, "#6b3fa0")]))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "s-t s-d"
    assert svg.find(f"{NS}title").text == "Comptes par statut"
    assert svg.find(f"{NS}desc").text == "accordé : 8; en attente : 2; expiré : 0"
    widths = [int(r.get("width")) for r in svg.iter(f"{NS}rect")]
    assert widths[2] == 0 and widths[0] == 4 * widths[1]
    texts = [t.text for t in svg.iter(f"{NS}text")]
    assert texts == ["accordé", "8", "en attente", "2", "expiré", "0"]


def test_labels_are_escaped():
    svg = bar_chart("x", "<b>titre</b>", [("<script>alert(1)</script>", 1, "#000")])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    parse(svg)  # still well-formed


def test_column_chart_scales_to_the_biggest_value_and_shows_each_value():
    svg = parse(column_chart("w", "Fins par semaine", [("01/12", 0), ("08/12", 3), ("15/12", 6)]))
    bars = list(svg.iter(f"{NS}rect"))
    heights = [int(r.get("height")) for r in bars]
    assert heights[0] == 0 and heights[2] == 2 * heights[1] == 150
    assert [t.text for t in svg.iter(f"{NS}text")][:2] == ["0", "01/12"]


def test_an_empty_chart_is_still_a_valid_image():
    parse(bar_chart("e", "Vide", []))
    parse(column_chart("e", "Vide", []))


def test_weeks_cover_exactly_the_days_of_the_report():
    today = date(2026, 11, 27)
    cut = weeks(today, 30)
    assert len(cut) == 5
    assert cut[0] == (today, today + timedelta(days=6))
    assert cut[-1] == (today + timedelta(days=28), today + timedelta(days=29))
    covered = [(last - first).days + 1 for first, last in cut]
    assert sum(covered) == 30


def test_ends_per_week_counts_each_last_day_once():
    today = date(2026, 11, 27)
    last_days = [today, today + timedelta(days=6), today + timedelta(days=7),
                 today + timedelta(days=29), today + timedelta(days=30)]
    assert ends_per_week(today, last_days, 30) == [
        ("27/11", 2), ("04/12", 1), ("11/12", 0), ("18/12", 0), ("25/12", 1)]
