"""`helpdesk bench import` and `bench report` run end to end on a small report (figures are not checked)."""

from __future__ import annotations

from bot.bench.records import bench_import, bench_report


def test_bench_import_and_report_print_their_figures_beside_the_ceilings(postgres_engine, tmp_path):
    url = postgres_engine.url.render_as_string(hide_password=False)
    printed = bench_import(rows=300, employees=120, workdir=tmp_path, postgres=url)
    assert "report: 300 enrolment rows, 120 employees" in printed
    for line in ("import into SQLite:", "import into PostgreSQL:", "ceiling (csv read + raw executemany",
                 "ceiling (csv read + raw COPY of the rows", "ratio (ours / ceiling):"):  # fmt: skip
        assert line in printed
    assert not (tmp_path / "bench-report.rejects.csv").exists()  # the generated report is clean

    report = bench_report(database_urls={"SQLite": f"sqlite:///{tmp_path}/bench.db", "PostgreSQL": url}, rounds=1)
    assert report.count("completion by district") == 2 and "pending list, one district" in report
