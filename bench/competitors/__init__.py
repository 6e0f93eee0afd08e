"""django-postman and pinax-messages on the benchmark data, run in the bench-only virtualenv."""
