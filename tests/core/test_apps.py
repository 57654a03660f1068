"""Apps: typed items, binding a live chat, linking sessions, and reading messages from items."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.apps.items import (
    add_app,
    add_field,
    create_item,
    find_app,
    item_fields,
    list_items,
)
from bpm_livechat.apps.links import (
    bind_app,
    bound_app,
    create_item_for_session,
    link_item,
    link_requested,
    linked_items,
    prefill,
)
from bpm_livechat.apps.reading import (
    MessageScope,
    grant_read_access,
    item_messages,
    readers,
    revoke_read_access,
)
from bpm_livechat.cli import cli
from bpm_livechat.demo.load import load_demo
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import AccessDeniedError, ValidationError
from bpm_livechat.models import App, AuthorKind, utcnow
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.types import Money
from bpm_livechat.params.values import set_parameters
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.sessions.messages import add_message
from tests.support import Desk, open_session


@pytest.fixture
def clients(db_session: Session, desk: Desk) -> App:
    """A Clients app bound to Support, with typed fields."""
    app = add_app(db_session, "Clients")
    add_field(db_session, app, "name", "string", "Name")
    add_field(db_session, app, "email", "email", "Email")
    add_field(db_session, app, "budget", "money", "Budget")
    add_field(db_session, app, "segment", "choice", "Segment", ["smb", "enterprise"])
    bind_app(db_session, desk.support, app)
    db_session.commit()
    return app


def test_item_values_are_validated_and_typed(db_session: Session, clients: App) -> None:
    item = create_item(db_session, clients, {"name": " Acme ", "budget": "1200.50 EUR"})
    db_session.commit()
    fields = {f.key: f for f in item_fields(item)}
    assert item.title == "Acme"
    assert fields["budget"].value == Money(Decimal("1200.50"), "EUR")
    assert fields["budget"].text == "1,200.50 EUR"
    assert fields["email"].text == ""
    with pytest.raises(ValidationError) as caught:
        create_item(db_session, clients, {"email": "nope", "segment": "huge"})
    assert set(caught.value.fields) == {"email", "segment"}
    with pytest.raises(ValidationError) as unknown:
        create_item(db_session, clients, {"colour": "red"})
    assert unknown.value.fields == {"colour": "unknown field"}


def test_field_keys_and_app_names_are_checked(db_session: Session, clients: App) -> None:
    with pytest.raises(ValidationError) as dup:
        add_field(db_session, clients, "email", "string", "Again")
    assert dup.value.fields == {"key": "already exists"}
    with pytest.raises(ValidationError) as bad:
        add_field(db_session, clients, "Bad Key", "string", "Bad")
    assert bad.value.fields == {"key": "not a lower-case identifier"}
    with pytest.raises(ValidationError) as same:
        add_app(db_session, "Clients")
    assert same.value.fields == {"name": "already exists"}


def test_search_matches_any_case_and_escapes_wildcards(db_session: Session, clients: App) -> None:
    create_item(db_session, clients, {"name": "Acme Corp", "email": "ops@acme.test"})
    create_item(db_session, clients, {"name": "Globex 100%"})
    db_session.commit()
    assert [i.title for i in list_items(db_session, clients, "ACME")] == ["Acme Corp"]
    assert [i.title for i in list_items(db_session, clients, "100%")] == ["Globex 100%"]
    assert list_items(db_session, clients, "c%p") == []  # a literal %, not a wildcard
    assert len(list_items(db_session, clients)) == 2


def test_prefill_takes_client_details_and_matching_parameters(
    db_session: Session, desk: Desk, clients: App
) -> None:
    add_parameter(db_session, "segment", "choice", "Segment", options=["smb", "enterprise"])
    add_parameter(db_session, "budget", "integer", "Budget")  # another type: converted if it fits
    session = open_session(db_session, desk.support, client="Jane Roe", client_email="jane@x.test")
    set_parameters(db_session, session, {"segment": "smb", "budget": 300}, user_actor(desk.admin))
    values = prefill(db_session, clients, session)
    assert values == {"name": "Jane Roe", "email": "jane@x.test", "segment": "smb"}


def test_create_from_session_links_it_and_requires_access(
    db_session: Session, desk: Desk, clients: App
) -> None:
    session = open_session(db_session, desk.support)
    item = create_item_for_session(db_session, session, {"name": "Jane"}, desk.operator)
    db_session.commit()
    assert [i.id for i in linked_items(db_session, session.id)] == [item.id]
    assert link_item(db_session, session, item, desk.operator) is False
    with pytest.raises(AccessDeniedError):
        create_item_for_session(db_session, session, {"name": "X"}, desk.seller)


def test_only_items_of_the_bound_app_can_be_linked(
    db_session: Session, desk: Desk, clients: App
) -> None:
    other = add_app(db_session, "Requests")
    add_field(db_session, other, "title", "string", "Title")
    foreign = create_item(db_session, other, {"title": "R1"})
    support_session = open_session(db_session, desk.support)
    sales_session = open_session(db_session, desk.sales)
    with pytest.raises(ValidationError):
        link_item(db_session, support_session, foreign, desk.admin)
    with pytest.raises(ValidationError):  # Sales is not bound at all
        create_item_for_session(db_session, sales_session, {"title": "R2"}, desk.admin)
    bind_app(db_session, desk.support, other)
    assert bound_app(db_session, desk.support.id) == other
    assert link_item(db_session, support_session, foreign, desk.admin) is True


def test_readers_see_messages_and_others_are_refused(
    db_session: Session, desk: Desk, clients: App
) -> None:
    now = utcnow()
    first = open_session(db_session, desk.support, client="Jane", client_email="jane@x.test")
    again = open_session(db_session, desk.support, client="Jane", client_email="jane@x.test")
    add_message(db_session, first, "hello", AuthorKind.CLIENT.value, sent_at=now)
    add_message(db_session, again, "me again", AuthorKind.CLIENT.value, sent_at=now + timedelta(1))
    item = create_item_for_session(db_session, first, {"name": "Jane"}, desk.operator)
    db_session.commit()

    linked = item_messages(db_session, desk.app_user, item)
    assert [(m.session_id, m.text) for m in linked] == [(first.id, "hello")]
    by_client = item_messages(db_session, desk.app_user, item, MessageScope.CLIENT)
    assert [m.text for m in by_client] == ["hello", "me again"]
    assert [m.text for m in item_messages(db_session, desk.admin, item)] == ["hello"]
    # Who works the session's live chat reads it on the session page, so in the widget too.
    for worker in (desk.operator, desk.supervisor):
        assert [m.text for m in item_messages(db_session, worker, item)] == ["hello"]
    with pytest.raises(AccessDeniedError):  # Sales only, no grant
        item_messages(db_session, desk.seller, item)

    revoke_read_access(db_session, desk.support, desk.app_user)
    db_session.commit()
    assert desk.app_user not in readers(db_session, desk.support)
    with pytest.raises(AccessDeniedError):
        item_messages(db_session, desk.app_user, item)
    grant_read_access(db_session, desk.support, desk.seller)
    assert [m.text for m in item_messages(db_session, desk.seller, item)] == ["hello"]


def test_client_scope_keeps_to_chats_the_reader_may_read(
    db_session: Session, desk: Desk, clients: App
) -> None:
    support = open_session(db_session, desk.support, client="Jo", client_email="jo@x.test")
    sales = open_session(db_session, desk.sales, client="Jo", client_email="jo@x.test")
    add_message(db_session, support, "support side", AuthorKind.CLIENT.value)
    add_message(db_session, sales, "sales side", AuthorKind.CLIENT.value)
    item = create_item_for_session(db_session, support, {"name": "Jo"}, desk.admin)
    grant_read_access(db_session, desk.support, desk.seller)
    db_session.commit()
    assert {
        m.text for m in item_messages(db_session, desk.app_user, item, MessageScope.CLIENT)
    } == {
        "support side",
        "sales side",
    }
    revoke_read_access(db_session, desk.sales, desk.app_user)
    scoped = item_messages(db_session, desk.app_user, item, MessageScope.CLIENT)
    assert [m.text for m in scoped] == ["support side"]


def test_cli_builds_an_app_binds_and_grants(engine: Engine, desk: Desk) -> None:
    url = engine.url.render_as_string(hide_password=False)

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--database-url", url, *args])

    assert run("app", "create", "Clients").exit_code == 0
    added = run(
        "app",
        "add-field",
        "Clients",
        "tier",
        "choice",
        "--label",
        "Tier",
        "--option",
        "a",
        "--option",
        "b",
        "--json",
    )
    assert json.loads(added.stdout)["fields"] == [
        {"key": "tier", "label": "Tier", "type": "choice", "options": ["a", "b"]}
    ]
    item = run("app", "add-item", "Clients", "--values", '{"tier": "b"}', "--json")
    assert json.loads(item.stdout)["values"] == {"tier": "b"}
    bad = run("app", "add-item", "Clients", "--values", '{"tier": "c"}')
    assert bad.exit_code == 1 and bad.stderr.startswith("error: invalid item values: tier:")
    assert run("app", "add-item", "Clients", "--values", "[1]").exit_code == 1
    assert run("app", "bind", "Support", "Clients").exit_code == 0
    granted = run("app", "grant", "Support", "olga", "--json")
    assert json.loads(granted.stdout)["readers"] == ["olga", "sales"]
    revoked = run("app", "grant", "Support", "sales", "--revoke", "--json")
    assert json.loads(revoked.stdout)["readers"] == ["olga"]
    assert [i["title"] for i in json.loads(run("app", "items", "Clients", "--json").stdout)] == [
        "b"
    ]


def test_demo_apps_are_made_once(db_session: Session, process_engine: ProcessEngine) -> None:
    load_demo(db_session, process_engine.scripts, sessions_per_chat=5)
    load_demo(db_session, process_engine.scripts, sessions_per_chat=5)
    db_session.commit()
    clients = find_app(db_session, "Clients")
    support = get_live_chat(db_session, "Customer Support")
    assert bound_app(db_session, support.id) == clients
    assert len(list_items(db_session, clients)) == 4
    assert len(list_items(db_session, find_app(db_session, "Requests"))) == 3
    item = list_items(db_session, clients)[-1]
    sales = get_user(db_session, "sales")
    assert item_messages(db_session, sales, item)  # the demo's app user reads the linked session


def test_a_script_link_request_is_validated(db_session: Session, desk: Desk, clients: App) -> None:
    session = open_session(db_session, desk.support)
    item = create_item(db_session, clients, {"name": "Acme"})
    for app_name, item_id in (("Requests", item.id), ("Clients", 999), ("Clients", str(item.id))):
        with pytest.raises(ValidationError) as caught:
            link_requested(db_session, session, app_name, item_id)
        assert set(caught.value.fields) == {"link_item"}
    assert link_requested(db_session, session, "Clients", item.id) is True
    assert [i.id for i in linked_items(db_session, session.id)] == [item.id]
