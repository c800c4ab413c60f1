"""A small project shaped like a forum's (Misago's trial): a sign-up form whose validator
loop catches ``ValidationError``, a Celery task that logs an exception and returns, and a
middleware factory. What the admin's error numbers say about them is under test."""
