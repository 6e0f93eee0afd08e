"""Django's PostgreSQL backend, batching to the server's parameter limit when parameters are bound by the server.

With `server_side_binding` (settings: DB_PREPARED_STATEMENTS) a statement takes at most 65,535 parameters,
which Django 5.2 does not know: `bulk_create`, `bulk_update`, the deletion collector and `in_bulk` would send
every object in one statement and fail past the limit (a log entry per message of a large moderation
action is 7 parameters each). Declaring the limit makes them batch. Django 6.1 does the same itself
(ticket #36822); this module can go once the project is on it.
"""

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql import base, features, operations

SERVER_SIDE_PARAMETER_LIMIT = 2**16 - 1


class DatabaseFeatures(features.DatabaseFeatures):
    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        super().__init__(connection)
        if connection.settings_dict["OPTIONS"].get("server_side_binding"):
            self.max_query_params = SERVER_SIDE_PARAMETER_LIMIT


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs):
        limit = self.connection.features.max_query_params
        if limit is None:
            return super().bulk_batch_size(fields, objs)
        return max(limit // max(len(fields), 1), 1)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
