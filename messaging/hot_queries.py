"""`sql_of`, kept only for `messaging.conversations` until its triggers are literal SQL (issue 26): then this
module goes. Nothing else may use it: reads are plain QuerySets or literal SQL beside their owner."""


def sql_of(queryset) -> tuple[str, tuple]:
    """The SQL and parameters of `queryset`, compiled now (for SQL written around it, such as a GROUP BY
    over a UNION, which the ORM cannot build, or a trigger's body)."""
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)
