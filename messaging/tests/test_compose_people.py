"""Starting a conversation and the people around it, through the test client: the compose page keeps a draft
through *Find*, who the picker (and the participants API) lists, blocked people on Settings and in the inbox,
and the notice after logging out."""

import re

import pytest
from django.test import Client

from messaging.models import Message, UserBlock
from messaging.tests.factories import MessageFactory
from messaging.web import views
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_web(client, alice):
    client.force_login(alice)
    return client


def option_ids(response) -> list[int]:
    """The people the compose page's recipient list offers, in order."""
    select = re.search(r'<select name="recipient".*?</select>', response.content.decode(), re.S)
    assert select is not None
    return [int(pk) for pk in re.findall(r'<option value="(\d+)"', select.group(0))]


def api_ids(client, search: str = "") -> list[int]:
    answer = client.get("/api/messages/participants", {"search": search, "page_size": 100})
    assert answer.status_code == 200
    return [row["id"] for row in answer.json()["results"]]


# --- Compose: one form, the draft kept through Find ---------------------------------------------------------


def test_find_keeps_the_draft_and_narrows_the_list(alice_web, alice, bob, carol):
    """*Find* posts the whole form: the page comes back with the body typed, the search, and only the people
    matching it; nothing is sent and no error is shown."""
    dave = UserFactory(username="dave", display_name="Dave Bowman")
    response = alice_web.post(
        "/inbox/compose/", {"search": "bow", "find": "1", "body": "Open the pod bay doors,\nplease."}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Open the pod bay doors,\nplease.</textarea>" in content
    assert 'name="search" value="bow"' in content
    assert option_ids(response) == [dave.pk]
    # The one person found is chosen; no "This field is required" on a search.
    assert f'<option value="{dave.pk}" selected>' in content
    assert "errorlist" not in content
    assert not Message.objects.exists()
    # Send from the page as it came back: the draft goes to Dave.
    sent = alice_web.post("/inbox/compose/", {"search": "bow", "recipient": dave.pk, "body": "Open the pod bay doors"})
    message = Message.objects.get()
    assert (message.recipient, message.body) == (dave, "Open the pod bay doors")
    assert sent["Location"] == f"/inbox/with/{dave.pk}/#message-{message.pk}"


def test_find_keeps_the_person_already_chosen(alice_web, alice, bob, carol):
    """A search that does not match the chosen person still lists them (first), chosen."""
    response = alice_web.post("/inbox/compose/", {"search": "car", "find": "1", "recipient": bob.pk, "body": "hi"})
    assert option_ids(response) == [bob.pk, carol.pk]
    assert f'<option value="{bob.pk}" selected>' in response.content.decode()


def test_the_search_box_is_part_of_the_send_form(alice_web):
    """Before this page had one form, "Find a person" was a GET form of its own, and the draft was lost."""
    content = alice_web.get("/inbox/compose/").content.decode()
    forms = re.findall(r"<form\b.*?</form>", content, re.S)
    (compose,) = [form for form in forms if 'name="recipient"' in form]
    assert 'method="post"' in compose
    assert 'name="search"' in compose and 'name="find"' in compose and 'name="body"' in compose
    # Find posts whatever is chosen or not (the browser checks no required field first).
    assert re.search(r'<button type="submit" name="find"[^>]* formnovalidate', compose)
    assert "messaging/people.js" in content


def test_a_refused_send_keeps_the_search_and_the_draft(alice_web, carol):
    response = alice_web.post("/inbox/compose/", {"search": "car", "body": "no recipient"})
    assert response.status_code == 400
    content = response.content.decode()
    assert "no recipient</textarea>" in content and "This field is required" in content
    assert option_ids(response) == [carol.pk]


def test_odd_searches_are_form_errors(alice_web):
    response = alice_web.post("/inbox/compose/", {"search": "x" * 200, "find": "1", "body": "kept"})
    assert response.status_code == 200
    assert b"Ensure this value has at most 150 characters" in response.content
    assert b"kept</textarea>" in response.content
    assert alice_web.post("/inbox/compose/", {"find": "1", "recipient": "x" * 40}).status_code == 200
    assert alice_web.post("/inbox/compose/", {"find": "1", "recipient": str(10**30)}).status_code == 200


def test_to_preselects_even_beyond_the_listed_people(alice_web, alice, monkeypatch):
    """`?to=` chooses a person who is not among the first listed."""
    people = [UserFactory(username=f"person{i:02}") for i in range(5)]
    monkeypatch.setattr(views, "MAX_LISTED_PARTICIPANTS", 2)
    response = alice_web.get(f"/inbox/compose/?to={people[-1].pk}")
    assert option_ids(response) == [people[-1].pk, people[0].pk, people[1].pk]
    assert f'<option value="{people[-1].pk}" selected>' in response.content.decode()


# --- Who appears: staff only if they wrote to you; blocked people marked ------------------------------------


def test_staff_appear_only_once_they_have_written_to_you(alice_web, alice, alice_client, bob, moderator):
    """On the compose page and in the participants API alike (`selectors.participants_for`)."""
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    assert moderator.pk not in option_ids(alice_web.get("/inbox/compose/"))
    assert admin.pk not in option_ids(alice_web.get("/inbox/compose/?search=admin"))
    assert api_ids(alice_client) == [bob.pk]
    assert api_ids(alice_client, "mod") == []
    # A message Alice wrote to the moderator does not list them; one from the moderator does.
    MessageFactory(sender=alice, recipient=moderator, body="are you there?")
    assert moderator.pk not in api_ids(alice_client)
    reply = MessageFactory(sender=moderator, recipient=alice, body="About your report")
    assert api_ids(alice_client) == [moderator.pk, bob.pk]
    assert moderator.pk in option_ids(alice_web.get("/inbox/compose/?search=mod"))
    # Still listed once Alice deleted that message: they wrote to her.
    Message.objects.filter(pk=reply.pk).update(recipient_deleted_at=reply.created_at)
    assert moderator.pk in api_ids(alice_client, "mod")
    # Staff can be written to through ?to= and a post all the same: the rule is about the list.
    assert admin.pk not in api_ids(alice_client)
    response = alice_web.post("/inbox/compose/", {"recipient": admin.pk, "body": "hello admin"})
    assert response.status_code == 400  # not a participant: not a choice
    assert b"Select a valid choice" in response.content


def test_staff_see_everyone(client, moderator, alice, bob):
    """The rule hides staff from others; a staff account lists people as anyone does."""
    client.force_login(moderator)
    assert set(api_ids(client)) == {alice.pk, bob.pk}


def test_blocked_people_are_offered_marked_and_can_be_written_to(alice_web, alice, alice_client, bob, carol):
    """The service lets a blocker write to the person they blocked, so the picker offers them, marked."""
    UserBlock.objects.create(blocker=alice, blocked=bob)
    response = alice_web.get("/inbox/compose/")
    assert bob.pk in option_ids(response)
    content = response.content.decode()
    assert f'<option value="{bob.pk}">bob (blocked)</option>' in content
    assert f'data-blocked="{bob.pk}"' in content  # for people.js's marks
    assert bob.pk in api_ids(alice_client)
    sent = alice_web.post("/inbox/compose/", {"recipient": bob.pk, "body": "one last thing"})
    assert sent.status_code == 302
    assert Message.objects.get().recipient == bob
    # Bob, blocked, still sees Alice listed (a block is not announced) but cannot send to her.
    bob_web = Client()
    bob_web.force_login(bob)
    assert alice.pk in option_ids(bob_web.get("/inbox/compose/"))
    refused = bob_web.post("/inbox/compose/", {"recipient": alice.pk, "body": "hey"})
    assert refused.status_code == 400
    assert b"does not accept messages from you" in refused.content


def test_the_participants_api_works_with_the_page_session(alice_web, bob):
    """people.js asks the API with the browser's session (no token)."""
    answer = alice_web.get("/api/messages/participants?search=bo&page_size=8", HTTP_ACCEPT="application/json")
    assert answer.status_code == 200
    assert [row["username"] for row in answer.json()["results"]] == ["bob"]
    assert Client().get("/api/messages/participants").status_code == 401


def test_compose_query_count(alice_web, alice, django_assert_max_num_queries):
    for i in range(30):
        MessageFactory(sender=UserFactory(username=f"friend{i:02}"), recipient=alice)
    UserBlock.objects.create(blocker=alice, blocked=UserFactory(username="zed"))
    # The session, its user, the events cursor's nothing, the listed people, the blocked ids, the nav's counts.
    with django_assert_max_num_queries(5):
        response = alice_web.get("/inbox/compose/")
    assert len(option_ids(response)) == 31


# --- Settings: the blocked people, with Unblock ---------------------------------------------------------------


def test_settings_lists_blocked_people_and_unblocks_back_to_settings(alice_web, alice, bob, carol):
    content = alice_web.get("/accounts/settings/").content.decode()
    assert "Blocked people" in content and "You have not blocked anyone" in content
    UserBlock.objects.create(blocker=alice, blocked=carol)
    UserBlock.objects.create(blocker=alice, blocked=bob)
    UserBlock.objects.create(blocker=bob, blocked=alice)  # Bob's block of Alice is his, not hers to see
    content = alice_web.get("/accounts/settings/").content.decode()
    listed = [int(pk) for pk in re.findall(r'data-blocked-person="(\d+)"', content)]
    assert listed == [bob.pk, carol.pk]  # by name
    assert f'action="/inbox/block/{carol.pk}/"' in content
    assert 'name="next" value="/accounts/settings/"' in content

    response = alice_web.post(f"/inbox/block/{carol.pk}/", {"action": "unblock", "next": "/accounts/settings/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/settings/"
    page = alice_web.get(response["Location"]).content.decode()
    assert "You unblocked Carol." in page
    assert [int(pk) for pk in re.findall(r'data-blocked-person="(\d+)"', page)] == [bob.pk]
    assert list(UserBlock.objects.filter(blocker=alice).values_list("blocked", flat=True)) == [bob.pk]


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)", "inbox/"]
)
def test_unblock_goes_back_only_to_a_path_of_this_site(alice_web, alice, bob, target):
    UserBlock.objects.create(blocker=alice, blocked=bob)
    response = alice_web.post(f"/inbox/block/{bob.pk}/", {"action": "unblock", "next": target})
    assert response.status_code == 302
    assert response["Location"] == f"/inbox/with/{bob.pk}/"


def test_settings_query_count(alice_web, alice, django_assert_max_num_queries):
    for i in range(10):
        UserBlock.objects.create(blocker=alice, blocked=UserFactory(username=f"pest{i}"))
    with django_assert_max_num_queries(4):  # the session, its user, the blocked people, the nav's counts
        response = alice_web.get("/accounts/settings/")
    assert response.content.decode().count("data-blocked-person=") == 10


# --- The inbox marks blocked conversations ---------------------------------------------------------------


def test_inbox_marks_blocked_conversations_in_the_same_queries(
    alice_web, alice, bob, carol, django_assert_max_num_queries
):
    MessageFactory(sender=bob, recipient=alice)
    MessageFactory(sender=carol, recipient=alice)
    for i in range(20):
        person = UserFactory(username=f"friend{i:02}")
        MessageFactory(sender=alice, recipient=person)
        UserBlock.objects.create(blocker=alice, blocked=person)
    UserBlock.objects.create(blocker=alice, blocked=bob)
    UserBlock.objects.create(blocker=carol, blocked=alice)  # Carol's block is not Alice's to see
    with django_assert_max_num_queries(4):  # as without marks (test_pages.py)
        response = alice_web.get("/inbox/?page=2")
    content = response.content.decode()
    rows = re.findall(r'href="/inbox/with/(\d+)/"\s+data-unread="\d+"( data-blocked)?', content)
    assert {int(pk): bool(mark) for pk, mark in rows} == {bob.pk: True, carol.pk: False}
    assert content.count('<span class="blocked-mark">Blocked</span>') == 1


# --- Logging out -----------------------------------------------------------------------------------------


def test_logging_out_says_so_on_the_login_page(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert "You have signed out." in response.content.decode()
    # Once: the next page does not repeat it, and a visitor who was not logged in is told nothing.
    assert "You have signed out." not in client.get("/accounts/login/").content.decode()
    assert "You have signed out." not in client.post("/accounts/logout/", follow=True).content.decode()
    assert client.get("/inbox/").status_code == 302
