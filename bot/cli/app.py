"""The `helpdesk` command and its sub-commands (each group in its own module)."""

import typer

app = typer.Typer(
    help="iGOT Karmayogi helpdesk bot.", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (figures, not tests).", no_args_is_help=True)
import_app = typer.Typer(help="Import iGOT reports.", no_args_is_help=True)
tickets_app = typer.Typer(help="The helpdesk ticket queue.", no_args_is_help=True)
staff_app = typer.Typer(help="Helpdesk staff accounts.", no_args_is_help=True)
remind_app = typer.Typer(help="Course reminders for field staff.", no_args_is_help=True)
report_app = typer.Typer(help="Course completion from the imported reports.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(tickets_app, name="tickets")
app.add_typer(staff_app, name="staff")
app.add_typer(remind_app, name="remind")
app.add_typer(report_app, name="report")
app.add_typer(bench_app, name="bench")
