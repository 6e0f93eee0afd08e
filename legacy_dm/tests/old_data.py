"""The old database of the data-migration tests: the old schema as production has it, the messy rows that fill
it, and the function that writes them. The `old_database` fixture in `conftest.py` builds it; the tests read
the rows from here to know what the carry must produce.
"""

import bcrypt

HEADROOM = 1000
BATCH = 4  # small, so that the dozen old messages take several batches

# The old schema exactly as production has it (legacy.md).
OLD_SCHEMA = [
    """CREATE TABLE users (
      id SERIAL PRIMARY KEY,
      username VARCHAR(50) NOT NULL UNIQUE,
      email VARCHAR(255) NOT NULL UNIQUE,
      hashed_password VARCHAR(255) NOT NULL,
      full_name VARCHAR(100),
      is_active BOOLEAN NOT NULL DEFAULT TRUE,
      is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
      created_at TIMESTAMP NOT NULL DEFAULT now())""",
    """CREATE TABLE conversations (
      id SERIAL PRIMARY KEY,
      created_at TIMESTAMP NOT NULL DEFAULT now(),
      updated_at TIMESTAMP)""",
    """CREATE TABLE conversation_participants (
      id SERIAL PRIMARY KEY,
      conversation_id INTEGER NOT NULL REFERENCES conversations(id),
      user_id INTEGER NOT NULL REFERENCES users(id),
      joined_at TIMESTAMP NOT NULL DEFAULT now(),
      last_read_at TIMESTAMP)""",
    """CREATE TABLE direct_messages (
      id SERIAL PRIMARY KEY,
      sender_id INTEGER NOT NULL,
      receiver_id INTEGER NOT NULL,
      conversation_id INTEGER,
      content TEXT,
      file_data BYTEA,
      file_name VARCHAR(255),
      file_type VARCHAR(100),
      reply_to_id INTEGER,
      is_read BOOLEAN NOT NULL DEFAULT FALSE,
      read_at TIMESTAMP,
      is_deleted_by_sender BOOLEAN NOT NULL DEFAULT FALSE,
      is_deleted_by_receiver BOOLEAN NOT NULL DEFAULT FALSE,
      created_at TIMESTAMP NOT NULL DEFAULT now(),
      updated_at TIMESTAMP)""",
]

ALICE_PASSWORD = "old-secret-of-alice"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(40))
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\nthe plan"
UNKNOWN = b"\x00\x01\x02\x03 no signature"

# id, username, email, bcrypt hash, full_name, is_active, is_superuser, created_at (naive UTC)
OLD_USERS = [
    (1, "alice", "alice@example.com", "alice", "Alice Liddell", True, False, "2021-03-04 05:06:07"),
    (2, "bob", "bob@example.com", "bob", None, True, True, "2021-03-05 10:00:00.250000"),
    (3, "carol", "carol@example.com", "carol", "Carol", False, False, "2021-04-01 00:00:00"),
    (4, "dave", "dave@example.com", "dave", "", True, False, "2021-05-01 12:00:00"),
    # 5 and 6 were deleted by the old system; their messages remain.
]

# id, sender, receiver, conversation, content, file_data, file_name, file_type, reply_to, is_read, read_at,
# deleted by sender, deleted by receiver, created_at, updated_at
OLD_MESSAGES = [
    (
        1,
        1,
        2,
        1,
        "Hello Bob",
        None,
        None,
        None,
        None,
        True,
        "2022-01-01 10:05:00",
        False,
        False,
        "2022-01-01 10:00:00",
        "2022-01-01 10:05:00",
    ),
    # read without read_at: updated_at
    (
        2,
        2,
        1,
        1,
        "Hi Alice",
        None,
        None,
        None,
        1,
        True,
        None,
        False,
        False,
        "2022-01-01 10:10:00",
        "2022-01-01 11:00:00",
    ),
    # dangling reply; read without read_at nor updated_at: created_at
    (
        3,
        1,
        2,
        None,
        "About the deleted one",
        None,
        None,
        None,
        999,
        True,
        None,
        False,
        False,
        "2022-01-02 09:00:00.123456",
        None,
    ),
    # missing sender; NULL content; file_name without file_data
    (
        4,
        5,
        1,
        None,
        None,
        None,
        "lost-plan.pdf",
        "application/pdf",
        None,
        False,
        None,
        False,
        False,
        "2022-01-03 08:00:00",
        None,
    ),
    # missing receiver; empty content; file_data without file_name (sniffed)
    (5, 1, 6, None, "", PNG, None, None, None, False, None, False, False, "2022-01-04 08:00:00", None),
    # sender = receiver
    (6, 3, 3, None, "Note to self", None, None, None, None, False, None, False, False, "2022-01-05 08:00:00", None),
    # whole attachment; deleted by sender with updated_at
    (
        7,
        1,
        2,
        None,
        "See the attached plan.",
        PDF,
        "plan.pdf",
        "application/pdf",
        None,
        False,
        None,
        True,
        False,
        "2022-01-06 08:00:00",
        "2022-01-06 09:30:00",
    ),
    # deleted by receiver without updated_at: migration time
    (8, 2, 1, None, "Forget this", None, None, None, None, False, None, False, True, "2022-01-07 08:00:00", None),
    # reply to a later id (crosses batches)
    (
        9,
        1,
        2,
        None,
        "Replying to the future",
        None,
        None,
        None,
        12,
        False,
        None,
        False,
        False,
        "2022-01-08 08:00:00",
        None,
    ),
    # nameless, typeless, unknown bytes: generic type
    (10, 2, 1, None, None, UNKNOWN, "", None, None, False, None, False, False, "2022-01-09 08:00:00", None),
    # 11 was deleted by the old system
    # reply to an earlier batch
    (12, 2, 1, 5, "Later message", None, None, None, 6, False, None, False, False, "2022-01-10 08:00:00", None),
]

# conversation id -> participant user ids
OLD_CONVERSATIONS = {1: [1, 2], 2: [3], 3: [1, 2, 4], 4: [2, 1], 5: [4, 3]}

OLD_TABLES = ("users", "conversations", "conversation_participants", "direct_messages")
NEW_TABLES = ("users_user", "messaging_message", "legacy_dm_conversation")


def old_password_hash(username: str) -> str:
    password = ALICE_PASSWORD if username == "alice" else f"old-secret-of-{username}"
    # The old system used 12 rounds; 4 keeps the tests fast and is the same `$2b$` format.
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def fill_old_tables(cursor):
    for user_id, username, email, _, full_name, active, superuser, created in OLD_USERS:
        cursor.execute(
            "INSERT INTO users (id, username, email, hashed_password, full_name, is_active, is_superuser,"
            " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [user_id, username, email, old_password_hash(username), full_name, active, superuser, created],
        )
    for conversation_id, participants in OLD_CONVERSATIONS.items():
        cursor.execute(
            "INSERT INTO conversations (id, created_at, updated_at) VALUES (%s, %s, %s)",
            [
                conversation_id,
                f"2022-01-0{conversation_id} 07:00:00",
                None if conversation_id > 1 else "2022-01-10 08:00:00",
            ],
        )
        for user_id in participants:
            cursor.execute(
                "INSERT INTO conversation_participants (conversation_id, user_id) VALUES (%s, %s)",
                [conversation_id, user_id],
            )
    for row in OLD_MESSAGES:
        cursor.execute(
            "INSERT INTO direct_messages (id, sender_id, receiver_id, conversation_id, content, file_data,"
            " file_name, file_type, reply_to_id, is_read, read_at, is_deleted_by_sender, is_deleted_by_receiver,"
            " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            list(row),
        )
