"""The pieces every sync trigger is made of: the guard against echoes and the function wrapper."""

from __future__ import annotations

from legacy_dm.carry.batches import SYNCING

# True unless the write is the sync's (or the carry's) own: then the other direction's trigger skips it.
GUARD = f"COALESCE(current_setting('{SYNCING}', true), '') <> 'on'"


def guarded_body(body: str, *, declare: str = "", returns: str = "NULL") -> str:
    """A trigger function's body that marks its own writes as the sync's, then puts the mark back."""
    return f"""
        DECLARE
            was text := current_setting('{SYNCING}', true);
            {declare}
        BEGIN
            PERFORM set_config('{SYNCING}', 'on', true);
            {body}
            PERFORM set_config('{SYNCING}', COALESCE(was, ''), true);
            RETURN {returns};
        END"""


def function(name: str, body: str) -> str:
    return f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $relay_sync${body}$relay_sync$"
