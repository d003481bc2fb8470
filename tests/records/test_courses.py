"""Courses by Content_Id, else by name, joined when the id turns up later."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.models import Course
from bot.records.courses import CourseAmbiguous, CourseCatalogue, CourseChange
from bot.records.importer import import_report
from tests.records.reports import counts, rejects, row, write


def test_a_name_without_an_id_finds_the_course_whatever_its_case_and_spacing():
    catalogue = CourseCatalogue([])
    posh = catalogue.resolve("do_2", "POSH Act")
    assert catalogue.resolve(None, "posh   act") == posh
    assert catalogue.take_changes() == [CourseChange(posh, "do_2", "POSH Act")]


def test_an_id_that_turns_up_later_joins_the_course_known_by_name():
    catalogue = CourseCatalogue([])
    yoga = catalogue.resolve(None, "Yoga Break")
    assert catalogue.resolve("do_7", "YOGA BREAK") == yoga == catalogue.resolve(None, "Yoga Break")
    assert catalogue.take_changes() == [CourseChange(yoga, None, "Yoga Break"), CourseChange(yoga, "do_7", None)]
    assert catalogue.resolve("do_8", "Yoga Break") != yoga  # another id is another course of the same name
    with pytest.raises(CourseAmbiguous, match="'Yoga Break' is the name of 2 courses \\(Content_Id do_7, do_8\\)"):
        catalogue.resolve(None, "Yoga Break")


def test_one_course_within_a_file_whichever_row_comes_first(db_engine, tmp_path):
    path = write(tmp_path, [
        row(content_id="", course="Yoga Break"),
        row("B", "9876500009", external_id="B", content_id="", course="yoga break"),
        row("C", "9876500008", external_id="C", content_id="do_7", course="Yoga Break"),
        row("D", "9876500007", external_id="D", content_id="", course="Yoga  Break"),
    ])  # fmt: skip
    assert import_report(db_engine, path).courses_added == 1
    with Session(db_engine) as session:
        assert session.exec(select(Course.content_id, Course.name)).all() == [("do_7", "Yoga Break")]


def test_an_id_in_a_later_report_joins_the_course_of_an_earlier_one(db_engine, tmp_path):
    import_report(db_engine, write(tmp_path, [row(content_id="", course="POSH Act")], name="first.csv"))
    later = write(tmp_path, [
        row(content_id="do_2", course="POSH Act", progress="80"),
        row("B", "9876500009", external_id="B", content_id="", course="posh act"),
    ], name="later.csv")  # fmt: skip
    summary = import_report(db_engine, later)
    assert (summary.courses_added, summary.updated, summary.inserted) == (0, 1, 1)
    assert counts(db_engine) == (2, 1, 2)
    with Session(db_engine) as session:
        assert session.exec(select(Course.content_id)).one() == "do_2"


def test_a_name_shared_by_two_courses_needs_its_id(db_engine, tmp_path):
    path = write(tmp_path, [
        row(content_id="do_7", course="Induction"),
        row("B", "9876500009", external_id="B", content_id="do_8", course="Induction"),
        row("C", "9876500008", external_id="C", content_id="", course="induction"),
    ])  # fmt: skip
    summary = import_report(db_engine, path)
    assert (summary.inserted, summary.rejected) == (2, 1)
    assert rejects(path) == [
        (4, "Content_Name 'induction' is the name of 2 courses (Content_Id do_7, do_8); add Content_Id to say which")
    ]
