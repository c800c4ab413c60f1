"""SQL text -> sanitized text, operation, collection, span name, N+1 key (pure functions)."""

from __future__ import annotations

import pytest

from django_tracekit.core import sql_text as statements
from django_tracekit.core.sql_text import MAX_QUERY_TEXT, parse, parse_text, sanitize


@pytest.mark.parametrize(("sql", "text"), [
    ("SELECT %s, 'secret', 42, 3.14, -2e10, 0xFF", "SELECT %s, ?, ?, ?, -?, ?"),
    ("SELECT 'it''s secret' FROM t WHERE a = $1 AND b = :name",
     "SELECT ? FROM t WHERE a = $1 AND b = :name"),
    ("SELECT $$secret$$, $tag$ secret $tag$", "SELECT ?, ?"),
    ('SELECT "t1"."col2" FROM "t1" WHERE x = %(x)s',
     'SELECT "t1"."col2" FROM "t1" WHERE x = %(x)s'),
    ("SELECT a -- the secret is 42\nFROM t /* 7 */", "SELECT a  \nFROM t  "),
    ("INSERT INTO t VALUES ('unterminated secret", "INSERT INTO t VALUES (?"),
    ("SELECT 'odd \U0001f600 \u202e \ud800 secret'", "SELECT ?"),
])
def test_literals_replaced_placeholders_and_identifiers_kept(sql: str, text: str) -> None:
    assert sanitize(sql) == text


def test_mysql_double_quotes_are_strings_backticks_identifiers() -> None:
    assert sanitize('SELECT `a` FROM `t` WHERE b = "secret" AND c = \'x\\\'y\'', mysql=True) == (
        "SELECT `a` FROM `t` WHERE b = ? AND c = ?")
    assert sanitize('SELECT "a" FROM t') == 'SELECT "a" FROM t'  # standard SQL: identifier


@pytest.mark.parametrize(("sql", "name", "collection"), [
    ('SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."id" = %s LIMIT 21',
     "SELECT shop_order", "shop_order"),
    ('SELECT EXTRACT(YEAR FROM "o"."created") FROM "shop_order" "o"', "SELECT shop_order",
     "shop_order"),
    ('INSERT INTO "shop_order" ("a") VALUES (%s)', "INSERT shop_order", "shop_order"),
    ('UPDATE "public"."users" SET a = %s', "UPDATE public.users", "public.users"),
    ("delete from `shop_row` where n > 3", "DELETE shop_row", "shop_row"),
    ("SELECT * FROM (SELECT id FROM inner_t) sub", "SELECT", None),
    ("SELECT 1", "SELECT", None),
    ('SAVEPOINT "s1_x1"', "SAVEPOINT", None),
    ("", "SQL", None),
])
def test_operation_collection_and_span_name(sql: str, name: str, collection: str | None) -> None:
    statement = parse_text(sql, mysql="`" in sql)
    assert (statement.name, statement.collection) == (name, collection)


def test_n_plus_one_key_collapses_lists_and_rows() -> None:
    one = parse_text('SELECT * FROM "t" WHERE "id" IN (%s, %s, %s)')
    two = parse_text('SELECT * FROM "t" WHERE "id" IN (%s, %s)')
    assert one.key == two.key == 'SELECT * FROM "t" WHERE "id" IN (?)'
    assert one.text != two.text  # the text shows what ran
    rows = parse_text("INSERT INTO t (a, b) VALUES (%s, %s), (%s, %s)")
    assert rows.key == "INSERT INTO t (a, b) VALUES (?)"


def test_a_megabyte_statement_is_read_only_up_to_its_cap() -> None:
    sql = "SELECT " + "'secret', " * 200_000 + "1"
    statement = parse(sql)
    assert len(statement.text) <= MAX_QUERY_TEXT and statement.text.endswith("…")
    assert "secret" not in statement.text
    long_ident = "SELECT " + "a" * 10 * MAX_QUERY_TEXT
    assert len(parse(long_ident).text) == MAX_QUERY_TEXT


def test_odd_input_never_raises() -> None:
    assert parse(b"SELECT 'x' \xff").text == "SELECT ? \ufffd"
    assert parse(None).name == "NONE"  # str(None): nothing to hide, nothing breaks

    class Broken:
        def __str__(self) -> str:
            raise ValueError("no")

    assert parse(Broken()).text == "<Broken>"


def test_own_tables_are_recognised_and_results_cached() -> None:
    assert parse('DELETE FROM "django_tracekit_usagebucket" WHERE 1').own
    assert not parse('SELECT 1 FROM "shop_order"').own
    sql = 'SELECT "cached" FROM "t"'
    assert parse(sql) is parse(sql)
    assert statements._caches[False][sql] is parse(sql)


def test_psycopg_composed_sql_is_rendered_then_sanitized() -> None:
    psycopg_sql = pytest.importorskip("psycopg.sql")
    composed = psycopg_sql.SQL("SELECT * FROM {} WHERE a = {}").format(
        psycopg_sql.Identifier("shop_order"), psycopg_sql.Literal("secret"))
    assert parse(composed).text == 'SELECT * FROM "shop_order" WHERE a = ?'
