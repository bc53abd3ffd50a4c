"""A bare DRF project for the ``api`` benchmark: list views over tables like Warroom's, nothing else.

Same database (its own tables, ``bare_drf_*``), same connection settings as Warroom
(``DATABASE_POOL``, ``DATABASE_CONN_MAX_AGE``), served by its own uvicorn process with
the same flags. No middleware, no authentication, no throttling: what DRF itself costs.
"""
