"""The console app on each database backend, with staff accounts and a ticket a user opened."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.brain import Brain
from bot.config import Settings
from bot.db import session_scope
from bot.dialogue import Engine as DialogueEngine
from bot.messages import Incoming
from bot.models import Employee, Ticket
from bot.tickets.staff import add_staff
from bot.web.app import create_app
from tests.web.console.helpers import EMAIL, PASSWORD, PHONE, SECRET


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, default_language="hi", staff_session_secret=SECRET)


@pytest.fixture
def accounts(db_engine: Engine) -> None:
    """desk1 and desk2, helpdesk staff."""
    with session_scope(db_engine) as session:
        for name in ("desk1", "desk2"):
            add_staff(session, name=name, password=PASSWORD)


@pytest.fixture
def other_roles(db_engine: Engine, accounts: None) -> None:
    """boss (admin) and raipur (nodal officer for Raipur) besides desk1 and desk2."""
    with session_scope(db_engine) as session:
        add_staff(session, name="boss", password=PASSWORD, role="admin")
        add_staff(session, name="raipur", password=PASSWORD, role="nodal", districts=["Raipur"])


@pytest.fixture
def app(db_engine: Engine, settings: Settings, accounts: None) -> Starlette:
    return create_app(settings=settings, db=db_engine)


@pytest.fixture
def client(app: Starlette) -> TestClient:
    return TestClient(app)


@pytest.fixture
def engine(brain: Brain, db_engine: Engine, settings: Settings) -> DialogueEngine:
    return DialogueEngine(brain=brain, db=db_engine, settings=settings)


@pytest.fixture
def user_ticket(engine: DialogueEngine, db_engine: Engine) -> str:
    """A ticket a verified employee opened in Hindi after typing their email and phone; its ref."""
    with session_scope(db_engine) as session:
        session.add(Employee(name="Sunita Sahu", phone=PHONE, email=EMAIL, designation="ASHA", district="Raipur"))
    for text in (f"mera email {EMAIL} aur number 98765 00001 hai", "kisi insaan se baat karao"):
        engine.handle(Incoming(channel="console", user_key=PHONE, text=text, verified_phone=PHONE))
    with session_scope(db_engine) as session:
        return session.exec(select(Ticket)).one().ref
