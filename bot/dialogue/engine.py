"""The conversation engine: `handle(incoming) -> replies`, independent of any channel."""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine as DatabaseEngine
from sqlmodel import Session, select

from bot import metrics, preferences
from bot.brain import Brain
from bot.config import Settings
from bot.conversations import lock_conversations, remembered
from bot.db import session_scope, write_scope
from bot.delivery.backlog import waiting_chats
from bot.dialogue.reading import command, emoji_meanings, has_letters, option_number, phones_mentioned
from bot.dialogue.status import StatusReplies
from bot.dialogue.tickets import RATING_KEYS, TicketReplies
from bot.learning import gaps
from bot.logs import mask
from bot.messages import Attachment, Incoming, Option, Reply
from bot.models import Conversation, Employee, GapKind, Ticket, utcnow
from bot.phones import PhoneError, to_e164
from bot.receipts import first_deliveries, keep_replies, kept_replies
from bot.records.status import Match, StatusView, find_employee, status_view
from bot.tickets import service as tickets
from bot.topics import intent_titles, topic_title
from bot.understanding.language import EN
from bot.understanding.matcher import Understanding
from bot.understanding.normalise import normalise

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000  # what is kept of a message; understanding reads only its beginning
SHORT_ANSWER_WORDS = 3  # "yes", "haan ji", "no not really": longer texts are new questions
UNCLEAR_BEFORE_TICKET = 2  # messages in a row the bot did not understand before a person takes over
UNCLASSIFIED = "unclassified"  # the category of a ticket opened because the bot did not understand
NOT_OFFERED = ("greet", "thanks")  # never worth a "did you mean" button
_BATCH_BRAIN: ContextVar[Brain | None] = ContextVar("batch_brain", default=None)


@dataclass
class Turn:
    """One message being handled: its database session, the user's conversation and reply language."""

    session: Session
    conversation: Conversation
    lang: str
    text: str = ""
    channel: str = ""
    # For the metrics and the insights: answered, abstained, off_topic, escalated, intent, ticket, invalid
    outcome: str = "intent"
    topic: str | None = None  # the FAQ topic answered, or rated with "Did this help?"
    feedback: str | None = None  # "yes"/"no" to "Did this help?"
    recorded: gaps.Recorded = field(default_factory=gaps.Recorded)  # the batch's, written at its end


@dataclass
class Decided:
    """What became of one message: the replies, their language, and the outcome for the metrics."""

    replies: list[Reply]
    lang: str
    outcome: str
    waiting: bool = False  # messages wait in the outbox for this user (when asked: `decide_many(waiting=True)`)

    @property
    def first(self) -> bool:
        """Handled now, not a retried delivery answered with its stored replies."""
        return self.outcome != "duplicate"


class Engine:
    """Decides the bot's replies; state lives in the database, never in this object."""

    def __init__(
        self,
        *,
        brain: Brain,
        db: DatabaseEngine,
        settings: Settings,
        today: Callable[[], date] | None = None,
    ):
        self._brain = brain
        self.db = db
        self.settings = settings
        self.today = today or (lambda: datetime.now(ZoneInfo(settings.timezone)).date())
        self.status_replies = StatusReplies(brain.texts)
        self.ticket_replies = TicketReplies(brain.texts)
        self._intents: dict[str, Callable[[Turn], list[Reply]]] = {
            "greet": self._greet,
            "thanks": self._thanks,
            "help": self._menu,
            "human": self._human,
            "my_status": self._my_status,
            "ticket_status": self._ticket_status,
            "language": self._language,
            "reminders_stop": self._reminders_stop,
            "reminders_start": self._reminders_start,
        }

    @property
    def brain(self) -> Brain:
        """The knowledge answering now: the one a batch of messages started with, to its end."""
        return _BATCH_BRAIN.get() or self._brain

    def use(self, brain: Brain) -> None:
        """Answer with other knowledge from the next batch of messages on (a rebuilt matcher, swapped in
        whole: batches in flight finish with the one they started with)."""
        self._brain = brain

    def t(self, lang: str, message: str, **values: object) -> str:
        return self.brain.texts.t(lang, message, **values)

    def handle(self, incoming: Incoming) -> list[Reply]:
        """The bot's replies to one message; never raises, a failure becomes a polite apology.

        A message the channel already delivered once (same `external_id`) changes nothing: its
        receipt is written in the same transaction as everything the message changed, with the
        replies, which a retried delivery gets again (see `_decide`).
        """
        return self.handle_many([incoming])[0]

    def handle_many(self, messages: Sequence[Incoming]) -> list[list[Reply]]:
        """The replies to several messages, in order (see `decide_many`)."""
        return [decided.replies for decided in self.decide_many(messages)]

    def decide_many(self, messages: Sequence[Incoming], *, waiting: bool = False) -> list[Decided]:
        """What became of several messages, in order, decided in one transaction with one commit.

        A busy web worker hands over every message that arrived while it was writing the last batch,
        so the database's fixed costs (round trips, the commit's flush to disk) are paid once per
        batch rather than once per message. Messages of one user are handled in arrival order, as if
        one at a time. If anything fails, nothing of the batch is kept and each message is handled
        again on its own, so a bad message costs only its own reply. `waiting`: also say, for each
        message handled now, whether the outbox holds messages for its user (a channel whose reply can
        carry them asks in the same transaction rather than with a read of its own).
        """
        if not messages:
            return []
        started = time.perf_counter()
        snapshot = _BATCH_BRAIN.set(self._brain)
        try:
            outcomes = self._decide(messages, waiting)
        except Exception:
            if len(messages) > 1:
                logger.warning("a batch of %d messages failed; handling them one by one", len(messages), exc_info=True)
                return [self.decide_many([incoming], waiting=waiting)[0] for incoming in messages]
            incoming = messages[0]
            logger.exception("failed to handle a message channel=%s user=%s", incoming.channel, mask(incoming.user_key))
            lang = self._stored_language(incoming)
            apology = Reply(self.t(lang, "Sorry, something went wrong on our side. Please try again in a few minutes."))
            outcomes = [Decided([apology], lang, "error")]
        finally:
            _BATCH_BRAIN.reset(snapshot)
        elapsed = time.perf_counter() - started
        for incoming, decided in zip(messages, outcomes, strict=True):
            metrics.OUTCOMES.labels(incoming.channel, decided.outcome).inc()
            if decided.outcome != "duplicate":
                metrics.MESSAGES_IN.labels(incoming.channel, decided.lang).inc()
                metrics.MESSAGES_OUT.labels(incoming.channel, decided.lang).inc(len(decided.replies))
                metrics.HANDLE_SECONDS.labels(incoming.channel).observe(elapsed)
        return outcomes

    def _decide(self, messages: Sequence[Incoming], waiting: bool = False) -> list[Decided]:
        """Every message's replies and state changes, in one transaction; raises if any fails.

        A retried delivery (its receipt is there) changes nothing and gets the replies its first
        delivery was answered with, as long as the channel has not confirmed they went out.
        """
        default = self.settings.default_language
        # Understanding needs no database: done first, so that row locks (and SQLite's single write
        # lock) are held only for the database work. The matcher remembers these verdicts for the turns.
        for incoming in messages:
            self.brain.matcher.understand(clean_text(incoming.text))
        with write_scope(self.db) as session:
            receipts = [(incoming.channel, incoming.external_id) for incoming in messages if incoming.external_id]
            new = first_deliveries(session, receipts)
            kept = kept_replies(session, set(receipts) - new) if len(new) < len(set(receipts)) else {}
            conversations = lock_conversations(
                session, [(incoming.channel, incoming.user_key) for incoming in messages]
            )
            outcomes = []
            handled: dict[int, int | None] = {}  # outcome index -> conversation id, for the messages handled now
            answered: dict[tuple[str, str], list[Reply]] = {}
            recorded = gaps.Recorded()
            for incoming in messages:
                receipt = (incoming.channel, incoming.external_id or "")
                if incoming.external_id:
                    if receipt not in new:
                        logger.info("duplicate delivery channel=%s id=%s ignored", *receipt)
                        again = answered.get(receipt, kept.get(receipt, []))
                        outcomes.append(Decided(again, default, "duplicate"))
                        continue
                    new.remove(receipt)  # a second copy within this batch is a duplicate too
                conversation = conversations[(incoming.channel, incoming.user_key)]
                turn = Turn(
                    session=session,
                    conversation=conversation,
                    lang=conversation.lang or default,
                    channel=incoming.channel,
                    recorded=recorded,
                )
                replies = self._respond(turn, incoming)
                conversation.pending = pending_for(replies)
                remember(conversation, "bot", *(reply.text for reply in replies))
                conversation.updated_at = utcnow()
                handled[len(outcomes)] = conversation.id
                outcomes.append(Decided(replies, turn.lang, turn.outcome))
                recorded.outcome(
                    channel=incoming.channel,
                    lang=turn.lang,
                    topic=turn.topic,
                    outcome=turn.outcome,
                    feedback=turn.feedback,
                )
                if incoming.external_id:
                    answered[receipt] = replies
            keep_replies(session, list(answered.items()))
            recorded.write(session)
            if waiting:
                queued_for = waiting_chats(session, [cid for cid in handled.values() if cid is not None])
                for index, conversation_id in handled.items():
                    outcomes[index].waiting = conversation_id in queued_for
            return outcomes

    def _stored_language(self, incoming: Incoming) -> str:
        """The user's reply language as last committed, for an apology; the default if even that fails."""
        query = select(Conversation.lang).where(
            Conversation.channel == incoming.channel, Conversation.user_key == incoming.user_key
        )
        try:
            with session_scope(self.db) as session:
                lang = session.exec(query).first()
        except Exception:
            lang = None
        return lang or self.settings.default_language

    def _respond(self, turn: Turn, incoming: Incoming) -> list[Reply]:
        conversation = turn.conversation
        if incoming.verified_phone:
            try:
                conversation.verified_phone = to_e164(incoming.verified_phone)
            except PhoneError:
                logger.warning("channel %s vouched for an unusable phone number", incoming.channel)
            else:
                preferences.phone_vouched(turn.session, conversation)
        turn.text = clean_text(incoming.text)
        conversation.last_inbound_at = utcnow()
        if conversation.lang is None and (hinted := channel_language(incoming.lang_hint)):
            conversation.lang = turn.lang = hinted  # the app's own language says more than "/start" does
        choice = incoming.choice or self._choice_from_text(conversation, turn.text)
        if choice:
            # A tap (or its number typed) is kept as the option's label: staff read "No", not "2".
            remember_tap(conversation, choice, self._choice_label(conversation, choice, turn.lang))
            return self._on_choice(turn, choice)
        remember(conversation, "user", turn.text or " ".join(f"[{item.kind}]" for item in incoming.attachments))
        if (intent := command(turn.text)) is not None:
            return self._on_command(turn, intent)
        ticket = self._active_ticket(turn)
        normalised = normalise(turn.text)
        if incoming.attachments and (ticket or not normalised):
            return self._attachments(turn, ticket, incoming.attachments)
        if not has_letters(normalised) and not (ticket and normalised):
            return self._without_words(turn, normalised)

        understanding = self.brain.matcher.understand(turn.text)
        turn.lang = self._reply_language(conversation, understanding.lang, normalised)
        logger.info(
            "message channel=%s user=%s text=%s lang=%s match=%s score=%.2f",
            incoming.channel,
            mask(incoming.user_key),
            mask(turn.text),
            understanding.lang,
            understanding.match,
            understanding.score,
        )
        if ticket is not None:
            return self._in_ticket_mode(turn, ticket, understanding, normalised)
        if understanding.lang is None:
            turn.outcome = "invalid"
            return [
                Reply(
                    self.t(turn.lang, "I can read English and Hindi only. Please write your question in one of them.")
                )
            ]
        yes_no = (conversation.pending or {}).get("yes_no")
        if yes_no:
            answer = self._yes_or_no(normalised)
            if answer:
                return self._on_choice(turn, yes_no[answer == "no"])
        if understanding.match:
            conversation.unclear_streak = 0
            return self._dispatch(turn, understanding.match)
        if understanding.off_topic:
            conversation.unclear_streak = 0  # plainly not for this bot: no ticket for it, ever
            return self._off_topic(turn, understanding.off_topic)
        conversation.unclear_streak += 1
        turn.outcome = "abstained"
        offered = [label for label in understanding.alternatives if label not in NOT_OFFERED]
        escalating = conversation.unclear_streak >= UNCLEAR_BEFORE_TICKET
        turn.recorded.question(
            kind=GapKind.TICKET if escalating else GapKind.ABSTAINED,
            text=turn.text,
            lang=understanding.lang,
            channel=turn.channel,
            candidates=[label for label, _ in understanding.candidates],
        )
        if escalating:
            return self._escalate(
                turn, reason="not_understood", category=UNCLASSIFIED, guess=self._guess(understanding)
            )
        if offered:
            return [self._did_you_mean(offered, turn.lang)]
        return [self._not_understood(turn.lang)]

    def _on_command(self, turn: Turn, intent: str) -> list[Reply]:
        """/start, /help, /stop, /language: the intent itself, whatever the user was doing."""
        turn.conversation.unclear_streak = 0
        if intent in ("greet", "help"):
            turn.conversation.active_ticket_id = None  # back to questions; an open ticket stays open
        return self._dispatch(turn, intent)

    def _without_words(self, turn: Turn, normalised: str) -> list[Reply]:
        """A message with no letters: emoji that greet, thank or answer; a number; anything else."""
        meanings = emoji_meanings(turn.text, self.brain.knowledge.lexicon.emoji)
        yes_no = (turn.conversation.pending or {}).get("yes_no")
        if yes_no and meanings & {"yes", "no"}:
            return self._on_choice(turn, yes_no["no" in meanings and "yes" not in meanings])
        if "thanks" in meanings and ("greet" not in meanings or self._has_spoken(turn.conversation)):
            return self._thanks(turn)
        if "greet" in meanings:
            return self._greet(turn)
        turn.outcome = "invalid"
        if option_number(normalised) is not None:  # a number, but no option of that number is on screen
            text = self.t(
                turn.lang, "That number does not match anything on the screen. Type your question in words, or choose:"
            )
            return [Reply(text, self._menu_options(turn.session, turn.conversation, turn.lang))]
        return [Reply(self.t(turn.lang, "Please type your question in words, for example: OTP not received."))]

    @staticmethod
    def _has_spoken(conversation: Conversation) -> bool:
        return any(entry["from"] == "bot" for entry in conversation.recent)

    def _in_ticket_mode(self, turn: Turn, ticket: Ticket, understanding: Understanding, normalised: str) -> list[Reply]:
        """While a ticket is open, the user's words go to it; a question the FAQ answers confidently is
        answered as well (and noted on the ticket), "menu" leaves, and reminder opt-outs work as ever."""
        if understanding.match == "help":  # back to questions; the ticket stays open
            turn.conversation.active_ticket_id = None
            return self._menu(turn)
        if understanding.match in ("reminders_stop", "reminders_start"):  # "STOP" works everywhere
            return self._dispatch(turn, understanding.match)
        yes_no = (turn.conversation.pending or {}).get("yes_no")
        if yes_no and (answer := self._yes_or_no(normalised)):
            return (
                self._on_choice(turn, "yes")
                if answer == "yes"
                else [self.ticket_replies.already_open(turn.lang, ticket)]
            )
        tickets.add_user_message(turn.session, ticket=ticket, text=turn.text)
        if ticket.category == "general" and understanding.candidates:
            best, score = understanding.candidates[0]
            if best in self.brain.knowledge.faqs and score >= self.brain.matcher.calibration.floor:
                ticket.category = best  # the first words that say what it is about
        topic = understanding.match
        if topic in self.brain.knowledge.faqs:
            title = self.brain.knowledge.title(topic, "en")
            tickets.add_bot_note(
                turn.session, ticket=ticket, text=f"The bot answered this from the FAQ: {title} ({topic})."
            )
            return self._answer(turn, topic, note=self.ticket_replies.also_added(turn.lang, ticket))
        turn.outcome = "ticket"
        return [self.ticket_replies.added(turn.lang, ticket)]

    def _attachments(self, turn: Turn, ticket: Ticket | None, attachments: tuple[Attachment, ...]) -> list[Reply]:
        """Screenshots and documents go to the open ticket; without one the bot explains it cannot read them."""
        if ticket is None:
            return [self.ticket_replies.attachment_without_ticket(turn.lang)]
        for attachment in attachments:
            tickets.add_user_message(turn.session, ticket=ticket, text=turn.text, attachment=attachment)
        return [self.ticket_replies.added(turn.lang, ticket)]

    def _active_ticket(self, turn: Turn) -> Ticket | None:
        """The open ticket that takes this user's messages, while they are in ticket mode."""
        conversation = turn.conversation
        if conversation.active_ticket_id is None:
            return None
        ticket = tickets.active_ticket(turn.session, conversation=conversation)
        if ticket is None or ticket.id != conversation.active_ticket_id:
            conversation.active_ticket_id = None  # resolved or closed meanwhile
            return None
        return ticket

    def _escalate(
        self, turn: Turn, *, reason: str, category: str | None = None, guess: str | None = None
    ) -> list[Reply]:
        """Open the user's ticket (or take them back to the one already open).

        A ticket opened because the bot did not understand starts at the first message it did not
        understand, so the user's own words are its subject; the bot's best guess at the topic, if
        any, is a note for staff, never the category.
        """
        conversation = turn.conversation
        existing = tickets.active_ticket(turn.session, conversation=conversation)
        if existing is not None:
            conversation.active_ticket_id = existing.id
            return [self.ticket_replies.already_open(turn.lang, existing)]
        history = (
            since_user_message(conversation.recent, conversation.unclear_streak) if reason == "not_understood" else None
        )
        category = category or conversation.last_topic or "general"
        hours = tickets.sla_hours(
            category, default=self.settings.ticket_sla_hours, by_category=self.settings.ticket_sla_hours_by_category
        )
        ticket = tickets.open_ticket(
            turn.session,
            conversation=conversation,
            employee_id=self._employee_id(turn),
            category=category,
            reason=reason,
            sla=timedelta(hours=hours),
            prefix=self.settings.ticket_prefix,
            history=history,
        )
        if guess is not None:
            title = self.brain.knowledge.title(guess, "en")
            tickets.add_bot_note(
                turn.session, ticket=ticket, text=f"Not understood. The bot's unconfirmed guess: {title} ({guess})."
            )
        conversation.active_ticket_id = ticket.id
        conversation.unclear_streak = 0
        turn.outcome = "escalated"
        return [self.ticket_replies.opened(turn.lang, ticket, hours, not_understood=reason == "not_understood")]

    def _identify(self, turn: Turn) -> tuple[Match, Employee | None]:
        """Whose records the channel-vouched phone opens (UNKNOWN without one)."""
        phone = turn.conversation.verified_phone
        return find_employee(turn.session, phone=phone) if phone else (Match.UNKNOWN, None)

    def _guess(self, understanding: Understanding) -> str | None:
        """The likeliest FAQ topic of a message the bot did not understand, if it is likely at all."""
        floor = self.brain.matcher.calibration.floor
        return next(
            (
                label
                for label, score in understanding.candidates
                if label in self.brain.knowledge.faqs and score >= floor
            ),
            None,
        )

    def _employee_id(self, turn: Turn) -> int | None:
        match, employee = self._identify(turn)
        return employee.id if match is Match.FOUND and employee is not None else None

    def _reply_language(self, conversation: Conversation, detected: str | None, normalised: str) -> str:
        """Hindi for Hindi writers in either script, English for English writers, unless the user chose.

        "ok", "thanks sir" or one Latin word say little about the language: the conversation keeps
        the one it had (the reminder's, when the user answers a reminder).
        """
        words = normalised.split()
        neutral = all(word in self.brain.knowledge.lexicon.neutral_words for word in words)
        if (
            conversation.lang_chosen
            or detected is None
            or (conversation.lang and (neutral or (len(words) == 1 and detected == EN)))
        ):
            return conversation.lang or self.settings.default_language
        conversation.lang = EN if detected == EN else "hi"
        return conversation.lang

    def _choice_from_text(self, conversation: Conversation, text: str) -> str | None:
        """A typed number picks the matching option of the bot's last question (WhatsApp, console)."""
        options: list[str] = (conversation.pending or {}).get("options") or []
        number = option_number(normalise(text))
        if number is not None and 1 <= number <= len(options):
            return options[number - 1]
        return None

    def _yes_or_no(self, normalised: str) -> str | None:
        words = normalised.split()
        if not words or len(words) > SHORT_ANSWER_WORDS:
            return None
        lexicon = self.brain.knowledge.lexicon
        for size in range(len(words), 0, -1):
            start = " ".join(words[:size])
            if start in lexicon.yes_words:
                return "yes"
            if start in lexicon.no_words:
                return "no"
        return None

    def _choice_label(self, conversation: Conversation, choice: str, lang: str) -> str:
        """The words of the option the user picked, as the bot showed them."""
        pending = conversation.pending or {}
        keys, labels = pending.get("options") or [], pending.get("labels") or []
        if choice in keys and len(labels) == len(keys):
            return str(labels[keys.index(choice)])
        kind, _, value = choice.partition(":")
        return topic_title(self.brain, value, lang) if kind in ("topic", "intent") else choice

    def _on_choice(self, turn: Turn, choice: str) -> list[Reply]:
        kind, _, value = choice.partition(":")
        if kind in ("topic", "intent") and value in self._known_ids():
            turn.conversation.unclear_streak = 0
            return self._dispatch(turn, value)
        if kind == "lang" and value in ("en", "hi"):
            return self._set_language(turn, value)
        if choice in RATING_KEYS:
            return self._rate(turn, int(value))
        if choice == "yes":
            turn.topic, turn.feedback = turn.conversation.last_topic, "yes"
            return [
                Reply(self.t(turn.lang, "Glad it helped! Ask me anything else, or type menu to see what I can do."))
            ]
        if choice == "no":
            turn.topic, turn.feedback = turn.conversation.last_topic, "no"
            self._record_refusal(turn, GapKind.NOT_HELPED, [turn.conversation.last_topic or ""])
            return [self._offer_helpdesk(turn.lang)]
        if choice == "escalate":
            return self._escalate(turn, reason="not_helped")
        if choice == "none":
            offered = [key.partition(":")[2] for key in (turn.conversation.pending or {}).get("options") or []]
            self._record_refusal(turn, GapKind.NONE_OF_THESE, offered)
            return [self._not_understood(turn.lang)]
        return self._menu(turn)

    def _record_refusal(self, turn: Turn, kind: GapKind, candidates: list[str]) -> None:
        """The user said the bot's answer or offers missed: their question before this reply is a gap."""
        question = previous_question(turn.conversation.recent)
        if question:
            lang = self.brain.matcher.detector.detect(normalise(question))
            turn.recorded.question(
                kind=kind,
                text=question,
                lang=lang,
                channel=turn.channel,
                candidates=[label for label in candidates if label],
            )

    def _known_ids(self) -> set[str]:
        return set(self.brain.knowledge.faqs) | set(self._intents)

    def _dispatch(self, turn: Turn, label: str) -> list[Reply]:
        if label in self._intents:
            return self._intents[label](turn)
        return self._answer(turn, label)

    def _answer(self, turn: Turn, topic_id: str, *, note: str | None = None) -> list[Reply]:
        lang = turn.lang
        entry = self.brain.knowledge.faqs[topic_id]
        turn.conversation.last_topic = turn.topic = topic_id
        turn.outcome = "answered"
        parts = [entry.answer[lang]]
        state_contact = self.settings.state_helpdesk_hi if lang == "hi" else self.settings.state_helpdesk_en
        if entry.state_contact and state_contact:
            parts.append(state_contact)
        if entry.personal and (view := self._own_status(turn)) is not None:
            parts.append(self.status_replies.section(lang, view, topic_id))
        if note:
            parts.append(note)
        parts.append(self.t(lang, "Did this help?"))
        options = [Option("yes", self.t(lang, "Yes")), Option("no", self.t(lang, "No"))]
        if entry.escalate:
            options.append(Option("intent:human", self.t(lang, "Talk to a person")))
        return [Reply("\n\n".join(parts), tuple(options), yes_no=("yes", "no"))]

    def _own_status(self, turn: Turn) -> StatusView | None:
        """The verified user's own records; None without a vouched phone matching exactly one employee."""
        match, employee = self._identify(turn)
        if match is not Match.FOUND or employee is None:
            return None
        return status_view(turn.session, employee=employee, today=self.today())

    def _did_you_mean(self, labels: list[str], lang: str) -> Reply:
        options = [Option(self._option_key(label), self._label_title(label, lang)) for label in labels[:3]]
        options.append(Option("none", self.t(lang, "None of these")))
        return Reply(self.t(lang, "I am not sure I understood. Did you mean:"), tuple(options))

    def _option_key(self, label: str) -> str:
        return f"intent:{label}" if label in self._intents else f"topic:{label}"

    def _label_title(self, label: str, lang: str) -> str:
        if label in self.brain.knowledge.faqs:
            return self.brain.knowledge.title(label, lang)
        return self._intent_titles(lang)[label]

    def _intent_titles(self, lang: str) -> dict[str, str]:
        return intent_titles(self.brain.texts, lang)

    def _menu_options(self, session: Session, conversation: Conversation, lang: str) -> tuple[Option, ...]:
        reminders = "reminders_start" if preferences.reminders_opted_out(session, conversation) else "reminders_stop"
        titles = self._intent_titles(lang)
        return tuple(
            Option(f"intent:{label}", titles[label])
            for label in ("my_status", "human", "ticket_status", "language", reminders)
        )

    def _not_understood(self, lang: str) -> Reply:
        titles = self._intent_titles(lang)
        return Reply(
            self.t(
                lang,
                "Sorry, I did not understand that. I can answer questions about registration and login, "
                "profile verification, courses and certificates. Please ask in a few words, or choose below.",
            ),
            (Option("intent:help", titles["help"]), Option("intent:human", titles["human"])),
        )

    def _off_topic(self, turn: Turn, refer: str) -> list[Reply]:
        """A question that is not about iGOT Karmayogi, or about a part of it the bot does not know:
        said plainly, with whom to ask instead; never guessed at, never a ticket by itself."""
        turn.outcome = "off_topic"
        lang = turn.lang
        titles = self._intent_titles(lang)
        if refer == "helpdesk":
            text = self.t(
                lang,
                "I have no answer about that part of iGOT Karmayogi. A helpdesk person can help you with it.",
            )
            return [Reply(text, (Option("intent:human", titles["human"]), Option("intent:help", titles["help"])))]
        if refer == "office":
            text = self.t(
                lang,
                "I can only help with iGOT Karmayogi. For salary, leave, transfers and other office matters, "
                "please ask your office.",
            )
        else:
            text = self.t(
                lang, "I can only help with iGOT Karmayogi: registration, login, profile, courses and certificates."
            )
        return [Reply(text, (Option("intent:help", titles["help"]),))]

    def _offer_helpdesk(self, lang: str) -> Reply:
        return Reply(
            self.t(lang, "Sorry that did not solve it. Would you like to ask a helpdesk person?"),
            (Option("escalate", self.t(lang, "Talk to a person")), Option("intent:help", self.t(lang, "Menu"))),
            yes_no=("escalate", "intent:help"),
        )

    def _rate(self, turn: Turn, stars: int) -> list[Reply]:
        ticket_id = (turn.conversation.pending or {}).get("ticket")
        ticket = turn.session.get(Ticket, ticket_id) if ticket_id else None
        if ticket is None or ticket.conversation_id != turn.conversation.id or ticket.rating is not None:
            return self._menu(turn)
        tickets.rate(turn.session, ticket=ticket, rating=stars)
        return [self.ticket_replies.rated(turn.lang)]

    # Intents ---------------------------------------------------------------------------------

    def _greet(self, turn: Turn) -> list[Reply]:
        text = self.t(
            turn.lang,
            "Namaste! I am the iGOT Karmayogi helpdesk assistant. Ask me about registration, login, "
            "profile verification, courses and certificates, in English or Hindi.",
        )
        return [Reply(text, self._menu_options(turn.session, turn.conversation, turn.lang))]

    def _thanks(self, turn: Turn) -> list[Reply]:
        return [Reply(self.t(turn.lang, "You are welcome! Write to me any time you need help with iGOT Karmayogi."))]

    def _menu(self, turn: Turn) -> list[Reply]:
        text = self.t(
            turn.lang,
            'Type your question in your own words, for example "OTP not received" or '
            '"certificate not generated". Or choose:',
        )
        return [Reply(text, self._menu_options(turn.session, turn.conversation, turn.lang))]

    def _human(self, turn: Turn) -> list[Reply]:
        return self._escalate(turn, reason="asked")

    def _my_status(self, turn: Turn) -> list[Reply]:
        reply = self._own_status_reply(turn)
        if phones_mentioned(turn.text) - {turn.conversation.verified_phone}:  # "9876500002 ka status batao"
            reply = replace(reply, text=f"{self.status_replies.only_own(turn.lang)}\n\n{reply.text}")
        return [reply]

    def _own_status_reply(self, turn: Turn) -> Reply:
        phone = turn.conversation.verified_phone
        if phone is None:
            return self.status_replies.share_phone(turn.lang)
        match, employee = self._identify(turn)
        if match is Match.UNKNOWN:
            return self.status_replies.unknown_phone(turn.lang, phone)
        if match is Match.AMBIGUOUS or employee is None:
            return self.status_replies.ambiguous_phone(turn.lang, phone)
        view = status_view(turn.session, employee=employee, today=self.today())
        return self.status_replies.status(turn.lang, view)

    def _ticket_status(self, turn: Turn) -> list[Reply]:
        own = tickets.tickets_of(turn.session, conversation=turn.conversation, employee_id=self._employee_id(turn))
        return [self.ticket_replies.status_list(turn.lang, own)]

    def _language(self, turn: Turn) -> list[Reply]:
        terms = set(self.brain.matcher.terms(turn.text))
        wanted = [code for code, concept in (("en", "english"), ("hi", "hindi")) if concept in terms]
        if len(wanted) == 1:
            return self._set_language(turn, wanted[0])
        return [
            Reply(
                self.t(turn.lang, "Which language would you like?"),
                (Option("lang:en", "English"), Option("lang:hi", "हिंदी")),
            )
        ]

    def _set_language(self, turn: Turn, lang: str) -> list[Reply]:
        turn.conversation.lang = turn.lang = lang
        turn.conversation.lang_chosen = True
        preferences.choose_language(turn.session, turn.conversation, lang)
        # NOTE: shown in the language just chosen, so each translation names its own language.
        return [Reply(self.t(lang, "From now on I will reply in English."))]

    def _reminders_stop(self, turn: Turn) -> list[Reply]:
        preferences.set_reminders(turn.session, turn.conversation, opted_out=True)
        return [
            Reply(
                self.t(
                    turn.lang,
                    'Done: you will not get course reminders any more. To get them again, write "start reminders".',
                )
            )
        ]

    def _reminders_start(self, turn: Turn) -> list[Reply]:
        preferences.set_reminders(turn.session, turn.conversation, opted_out=False)
        return [
            Reply(
                self.t(
                    turn.lang,
                    "Done: you will get reminders about your pending courses again. "
                    'To stop them, write "stop reminders".',
                )
            )
        ]


def clean_text(text: str) -> str:
    """The message without control characters, cut to a sane length. A lone surrogate (JSON can carry
    one, UTF-8 cannot) becomes U+FFFD, so the message can be stored and answered."""
    kept = (_REPLACED.get(unicodedata.category(char), char) for char in text[:MAX_MESSAGE_CHARS])
    return "".join(kept).strip()


_REPLACED = {"Cc": " ", "Cs": "\ufffd"}  # control characters, lone surrogates


class Remembering(Protocol):
    """Whatever keeps the recent messages of a chat (a conversation row, or its columns)."""

    recent: list[dict[str, Any]]


def channel_language(hint: str | None) -> str | None:
    """The reply language a channel's hint stands for: Telegram's `language_code` "hi" or "en-GB"."""
    code = (hint or "").split("-")[0].lower()
    return code if code in ("en", "hi") else None


def previous_question(recent: list[dict[str, Any]]) -> str | None:
    """The question the user wrote before their latest message (a tap or a typed "no"): options they
    picked on the way to the answer are passed over."""
    earlier = [entry for entry in recent if entry["from"] == "user"][:-1]
    return next((str(entry["text"]) for entry in reversed(earlier) if "tap" not in entry), None)


def since_user_message(recent: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The recent messages from the count-th last one the user wrote (what a person must read first)."""
    seen = 0
    for index in range(len(recent) - 1, -1, -1):
        if recent[index]["from"] == "user":
            seen += 1
            if seen == count:
                return recent[index:]
    return recent


def remember(conversation: Remembering, author: str, *texts: str, **details: str) -> None:
    """Keep the last few messages both ways: a ticket carries them to the helpdesk. `details` go with
    each entry (a delivered reminder records its kind and language, which the user may answer in)."""
    conversation.recent = remembered(conversation.recent, author, *texts, **details)


def remember_tap(conversation: Conversation, choice: str, label: str) -> None:
    """Keep an option the user picked: its label as they saw it, and its key."""
    conversation.recent = remembered(conversation.recent, "user", label, tap=choice[:64])


def pending_for(replies: list[Reply]) -> dict[str, object] | None:
    """What the bot now waits for: the options of its last reply, picked by number or yes/no."""
    if not replies or not replies[-1].options:
        return None
    last = replies[-1]
    return {
        "options": [option.key for option in last.options],
        "labels": [option.label for option in last.options],
        "yes_no": last.yes_no,
    }
