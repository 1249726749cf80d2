"""`specops drift --format html`: one page that loads nothing, with every user string escaped."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from specops.cli import main
from tests.conftest import check_golden
from tests.driftspec import WATCHED

DATA = Path(__file__).parent / "data" / "drift"
GOLDEN = Path(__file__).parent / "golden" / "drift" / "report.html"


class Page(HTMLParser):
    """The tags, attributes and text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Page:
    parsed = Page()
    parsed.feed(page)
    parsed.close()
    return parsed


def html(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["drift", "--format", "html", *args])
    out, err = capsys.readouterr()
    assert err == ""
    return code, out


def test_golden_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    shutil.copyfile(DATA / "large_ref.csv", tmp_path / "data" / "ref.csv")
    shutil.copyfile(DATA / "large_cur.csv", tmp_path / "data" / "cur.csv")
    monkeypatch.chdir(tmp_path)
    code, page = html(capsys, "--reference", "data/ref.csv", "--current", "data/cur.csv")
    assert code == 1
    check_golden(GOLDEN, page)


def test_the_page_loads_nothing_and_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    ref, cur = str(DATA / "large_ref.csv"), str(DATA / "large_cur.csv")
    _, page = html(capsys, "--reference", ref, "--current", cur)
    parsed = parse(page)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parsed.tags)
    assert parsed.tags.count("svg") == 3  # shifted, few, city: the drifted columns
    urls = [v for k, v in parsed.attributes if k in ("src", "href") and v]
    assert urls == []
    assert (
        "url(" not in page
        and "@import" not in page
        and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    assert (
        "http-equiv",
        "Content-Security-Policy",
    ) in parsed.attributes


HOSTILE = [
    "<script>alert(1)</script>",
    "a\"b'c onmouseover=alert(1)",
    "température ☃ 日本語 🙂",
    "x" * 400,
    "</svg><img src=x>&amp;",
]


def test_hostile_strings_are_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(3)
    ref_columns, cur_columns = {}, {}
    categories = ["<b>bold</b>", "\"quoted\" & 'single'", "ünïcödé ✓", "y" * 300]
    for index, name in enumerate(HOSTILE):
        if index % 2:
            ref_columns[name] = rng.normal(0, 1, 3000)
            cur_columns[name] = rng.normal(1.5, 1, 2000)
        else:
            ref_columns[name] = rng.choice(categories[:3], 3000)
            cur_columns[name] = rng.choice(categories, 2000)
    folder = tmp_path / '<dir> & "quote"'
    folder.mkdir()
    ref, cur = folder / "ref<1>.parquet", folder / "cur&2.parquet"
    pq.write_table(pa.table(ref_columns), ref)
    pq.write_table(pa.table(cur_columns), cur)
    code, page = html(capsys, "--reference", str(ref), "--current", str(cur))
    assert code == 1
    parsed = parse(page)
    assert set(parsed.tags) <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "code",
        "table", "tr", "th", "td", "ul", "li", "section", "span", "svg", "line", "text", "rect",
    }  # fmt: skip
    assert not [k for k, _ in parsed.attributes if k.startswith("on")]
    text = "".join(parsed.text)
    for name in HOSTILE:
        assert name in text  # shown as it is, in the table, a heading and the plot's title
    for category in categories[:3]:
        assert category in text
    assert "y" * 20 + "…" in text  # a long category is cut under its bar...
    assert "y" * 300 + ": current" in text  # ...and whole in the bar's tooltip
    assert str(ref) in text and str(cur) in text
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a&quot;b&#x27;c onmouseover=alert(1)" in page


def test_control_characters_in_a_name_are_shown_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = tmp_path / "ref.csv"
    cur = tmp_path / "cur.csv"
    ref.write_text('"a\u202eb"\n' + "".join(f"{i % 3}\n" for i in range(300)))
    cur.write_text('"a\u202eb"\n' + "".join(f"{i % 2}\n" for i in range(300)))
    code, page = html(capsys, "--reference", str(ref), "--current", str(cur))
    assert code == 1
    assert "\u202e" not in page and "a\\u202eb" in page


def test_no_drift_no_plots(capsys: pytest.CaptureFixture[str]) -> None:
    ref = str(DATA / "large_ref.csv")
    code, page = html(capsys, "--reference", ref, "--current", ref)
    assert code == 0
    assert "<svg" not in page
    assert '<p class="verdict ok">no drift: 0 of 6 column(s) drifted (0%)' in page


def test_a_broken_contract_in_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    ref.write_text("a,<b>\n1.5,x\n")
    cur.write_text("a\n1.5\n")
    code, page = html(capsys, "--reference", str(ref), "--current", str(cur))
    assert code == 1
    assert "<tr><td>&lt;b&gt;</td><td>missing from the current batch</td></tr>" in page


def test_the_model_quality_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Concept drift, the metrics against the reference's, the gates with their verdicts and
    the notes, as the text report has them; hostile class names escaped."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(11)
    classes = np.array(["<script>alert(1)</script>", "a&b", "ok"])
    for name, rows, right in (("ref", 3000, 0.9), ("cur", 2000, 0.5)):
        y = rng.choice(classes, rows)
        pred = np.where(rng.random(rows) < right, y, rng.choice(classes, rows))
        if name == "cur":
            y[:30] = "<img src=x>"
        table = {
            "x": rng.normal(0, 1, rows),
            "y": y,
            "pred": pred,
            "ms": rng.gamma(2.0, 3.0, rows),
        }
        pq.write_table(pa.table(table), tmp_path / f"{name}.parquet")
    (tmp_path / "specops.yaml").write_text(
        WATCHED + "  reference: ref.parquet\n  current: cur.parquet\n  columns: [x]\n"
        "  target: y\n  predicted_class: pred\n  latency: ms\n  performance:\n"
        "    - metric: f1_macro\n      min: 0.8\n    - metric: accuracy\n      min: 0.4\n"
    )
    code, page = html(capsys, "--spec", str(tmp_path / "specops.yaml"))
    assert code == 1
    parsed = parse(page)
    text = "".join(parsed.text)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    quality = page.split("<h2>Model quality</h2>\n")[1]
    assert quality.startswith(
        '<p class="verdict drift">model quality: 1 of 2 performance gate(s) failed;'
    )
    assert "<h3>Concept drift</h3>" in quality
    assert "<h3>Performance on 2,000 row(s) of the batch</h3>" in quality
    assert '<tr class="ok"><td>accuracy</td><td class="number">' in quality
    assert (
        '<tr class="drift"><td>f1_macro</td><td class="number">0.4983</td><td>-</td>'
        '<td>&gt;= 0.8</td><td class="number">-0.3017</td><td class="status-fail">fail</td>'
        '<td class="reason">0.4983 is below the minimum 0.8</td></tr>'
    ) in quality
    assert "<td>accuracy</td>" in quality.split("<h3>Performance gates</h3>")[1]
    assert "the batch has class(es) the reference's target does not: '<img src=x>'" in text
    assert "latency: p50 " in text
