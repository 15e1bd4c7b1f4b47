"""The store's SQL is written for DuckDB; this module turns it into PostgreSQL's, for `dashboard/pg.py`.

The differences are few, and each is handled in one of two places:

- *here*, textually, outside string literals and comments: the parameter mark `?` becomes `%s` (and a literal
  `%` becomes `%%` when parameters are passed, as psycopg reads `%` as a placeholder), `current_localtimestamp()`
  becomes `LOCALTIMESTAMP`, a closing `ORDER BY ALL` orders by the whole row, a subquery in FROM or JOIN without
  a name gets one (`AS _sqN`), the type `DOUBLE` becomes `DOUBLE PRECISION`, and `CREATE OR REPLACE TEMP TABLE x
  AS` becomes a drop and a create;
- *in the server*: DuckDB functions PostgreSQL lacks (`arg_min(text, bigint)`, `first`, `strftime`, `median`,
  `today()`, `any_value` before PostgreSQL 16) are created as SQL functions by `COMPAT_SQL`, run once per
  database before the migrations, so the same queries run on both engines.

Dividing two whole numbers gives a fraction in DuckDB (`/`), a truncated whole number in PostgreSQL: `COMPAT_SQL`
creates `/` for the integer types in `public` as DuckDB's division, and `dashboard/pg.py` puts `public` before
`pg_catalog` on the search path of its connections, so `count(*) FILTER (...) / count(*)` means the same on both.

Likewise the mean of whole numbers: `avg(smallint|integer)` is a double in DuckDB (sum / count) and an exact
`numeric` in PostgreSQL, and `round(double, n)` in DuckDB rounds the double's exact binary value half away from
zero (2.675 is 2.67499999… and gives 2.67): both are created in `public` the DuckDB way (the exact value taken
as value × 2^60 or × 2^52, a whole number, below 8 or 2048, and rounded in integers; else PostgreSQL's 15
digits), so a mean of exactly 3.975 rounds as on a DuckDB file (`migrate-store`'s check found that difference).

Anything else DuckDB-only (lists, `QUALIFY`, `EXCLUDE`, ...) is not translated: such a query fails on PostgreSQL
with the server's own message; the store's few uses were rewritten in SQL both engines run.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["COMPAT_SQL", "split_literals", "to_postgres"]

# literals and comments, kept as they are: '...' (with '' inside), "...", -- to end of line, /* ... */
_LITERAL = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)

_REPLACEMENTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bcurrent_localtimestamp\s*\(\s*\)", re.IGNORECASE), "LOCALTIMESTAMP"),
    (re.compile(r"\bDOUBLE\b(?!\s+PRECISION)", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bCREATE\s+OR\s+REPLACE\s+TEMP(?:ORARY)?\s+TABLE\s+(\w+)\s+AS\b", re.IGNORECASE),
     r"DROP TABLE IF EXISTS \1; CREATE TEMP TABLE \1 AS"),
    # DuckDB's transactions are snapshots; PostgreSQL's default (read committed) would let a save that read the row
    # before another session's commit overwrite that session's other fields: repeatable read refuses it instead
    # ("could not serialize access", raised as DuckDB's TransactionException), as DuckDB does, and it is retried
    (re.compile(r"\bBEGIN\s+TRANSACTION\b", re.IGNORECASE), "BEGIN ISOLATION LEVEL REPEATABLE READ"),
)
# DuckDB's ORDER BY ALL (every column, left to right) at the end of a statement: order by the whole row instead
_ORDER_BY_ALL = re.compile(r"^(?P<query>.*)\bORDER\s+BY\s+ALL\s*;?\s*$", re.IGNORECASE | re.DOTALL)


def split_literals(sql: str) -> list[tuple[bool, str]]:
    """The SQL in pieces: (True, literal or comment) and (False, code), in order."""
    pieces: list[tuple[bool, str]] = []
    at = 0
    for match in _LITERAL.finditer(sql):
        if match.start() > at:
            pieces.append((False, sql[at:match.start()]))
        pieces.append((True, match.group()))
        at = match.end()
    if at < len(sql):
        pieces.append((False, sql[at:]))
    return pieces


_SUBQUERY = re.compile(r"\b(?:FROM|JOIN)\s*\(", re.IGNORECASE)
_ALIAS_FOLLOWS = re.compile(r"\s*(?:AS\b|(?!(?:WHERE|GROUP|ORDER|HAVING|LIMIT|OFFSET|UNION|EXCEPT|INTERSECT|JOIN|LEFT|"
                           r"RIGHT|INNER|FULL|CROSS|ON|USING|WINDOW|QUALIFY|NATURAL)\b)[A-Za-z_])", re.IGNORECASE)


def _alias_subqueries(sql: str) -> str:
    """PostgreSQL before 16 wants a name for every subquery in FROM or JOIN; DuckDB does not: add `AS _sqN`."""
    masked = "".join(" " * len(text) if literal else text for literal, text in split_literals(sql))
    inserts: list[int] = []
    for match in _SUBQUERY.finditer(masked):
        depth, at = 0, match.end() - 1
        while at < len(masked):
            depth += {"(": 1, ")": -1}.get(masked[at], 0)
            if depth == 0:
                break
            at += 1
        if at < len(masked) and not _ALIAS_FOLLOWS.match(masked, at + 1):
            inserts.append(at + 1)
    for n, at in enumerate(sorted(inserts, reverse=True)):
        sql = f"{sql[:at]} AS _sq{n}{sql[at:]}"
    return sql


@lru_cache(maxsize=4096)
def to_postgres(sql: str, with_params: bool) -> str:
    """The statement as PostgreSQL (through psycopg) reads it; `with_params`: parameters will be passed."""
    sql = _alias_subqueries(sql)
    ordered = _ORDER_BY_ALL.match(sql)
    if ordered and not split_literals(sql)[-1][0]:
        sql = f"SELECT * FROM ({ordered.group('query')}) AS _all ORDER BY _all"
    out: list[str] = []
    for literal, text in split_literals(sql):
        if with_params:
            text = text.replace("%", "%%")
        if not literal:
            if with_params:
                text = text.replace("?", "%s")
            for pattern, replacement in _REPLACEMENTS:
                text = pattern.sub(replacement, text)
        out.append(text)
    return "".join(out)


# DuckDB functions the store's SQL uses that PostgreSQL does not have, as SQL functions of the same name and meaning.
# Created (or replaced) in the database's `public` schema before the migrations run.
COMPAT_SQL = """
CREATE OR REPLACE FUNCTION aims_pick_first(state anyelement, value anyelement) RETURNS anyelement
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT coalesce(state, value)';
DO $$ BEGIN
    IF current_setting('server_version_num')::int < 160000
       AND NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'any_value') THEN
        CREATE AGGREGATE any_value(anyelement) (SFUNC = aims_pick_first, STYPE = anyelement);
    END IF;
END $$;
CREATE OR REPLACE FUNCTION aims_first_step(state anyarray, value anyelement) RETURNS anyarray
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT CASE WHEN state IS NULL THEN ARRAY[value] ELSE state END';
CREATE OR REPLACE FUNCTION aims_first_final(state anyarray) RETURNS anyelement
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT state[1]';
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'first') THEN
        CREATE AGGREGATE first(anyelement) (SFUNC = aims_first_step, STYPE = anyarray, FINALFUNC = aims_first_final);
    END IF;
END $$;
DO $$ DECLARE l text; r text; BEGIN
    FOREACH l IN ARRAY ARRAY['smallint', 'integer', 'bigint'] LOOP
        FOREACH r IN ARRAY ARRAY['smallint', 'integer', 'bigint'] LOOP
            EXECUTE format($f$CREATE OR REPLACE FUNCTION aims_divide(a %s, b %s) RETURNS double precision
                LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
                'SELECT CASE WHEN b <> 0 THEN a::double precision / b WHEN a > 0 THEN ''Infinity''
                             WHEN a < 0 THEN ''-Infinity'' ELSE ''NaN'' END::double precision'$f$, l, r);
            IF NOT EXISTS (SELECT 1 FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
                           WHERE n.nspname = 'public' AND o.oprname = '/'
                             AND o.oprleft = l::regtype AND o.oprright = r::regtype) THEN
                EXECUTE format('CREATE OPERATOR public./ (LEFTARG = %s, RIGHTARG = %s, FUNCTION = aims_divide)', l, r);
            END IF;
        END LOOP;
    END LOOP;
END $$;
CREATE OR REPLACE FUNCTION aims_round_scaled(scaled double precision, scale numeric, digits integer)
    RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $f$SELECT ((div(scaled::bigint::numeric * power(10::numeric, digits), scale)
                + CASE WHEN 2 * mod(scaled::bigint::numeric * power(10::numeric, digits), scale) >= scale THEN 1 ELSE 0 END)
               / power(10::numeric, digits))::double precision$f$;
CREATE OR REPLACE FUNCTION round(value double precision, digits integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $f$SELECT CASE WHEN abs(value) < 8
                   THEN sign(value) * aims_round_scaled(abs(value) * 1152921504606846976.0, 1152921504606846976, digits)
                   WHEN abs(value) < 2048
                   THEN sign(value) * aims_round_scaled(abs(value) * 4503599627370496.0, 4503599627370496, digits)
                   ELSE round(value::numeric, digits)::double precision END$f$;
CREATE OR REPLACE FUNCTION aims_int_avg_final(state bigint[]) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    'SELECT CASE WHEN state[1] = 0 THEN NULL ELSE state[2]::double precision / state[1] END';
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = 'public' AND p.proname = 'avg') THEN
        CREATE AGGREGATE public.avg(smallint) (SFUNC = int2_avg_accum, STYPE = bigint[],
                                               FINALFUNC = aims_int_avg_final, INITCOND = '{0,0}');
        CREATE AGGREGATE public.avg(integer) (SFUNC = int4_avg_accum, STYPE = bigint[],
                                              FINALFUNC = aims_int_avg_final, INITCOND = '{0,0}');
    END IF;
END $$;
CREATE OR REPLACE FUNCTION strftime(value timestamp, format text) RETURNS text LANGUAGE sql IMMUTABLE AS
    $f$SELECT to_char(value, replace(replace(replace(replace(replace(replace(format,
        '%Y', 'YYYY'), '%m', 'MM'), '%d', 'DD'), '%H', 'HH24'), '%M', 'MI'), '%S', 'SS'))$f$;
CREATE OR REPLACE FUNCTION today() RETURNS date LANGUAGE sql STABLE AS 'SELECT current_date';
CREATE OR REPLACE FUNCTION aims_arg_min_step(state text[], value text, k bigint) RETURNS text[]
    LANGUAGE sql IMMUTABLE AS
    'SELECT CASE WHEN k IS NULL THEN state WHEN state IS NULL OR k < state[2]::bigint
                 THEN ARRAY[value, k::text] ELSE state END';
CREATE OR REPLACE FUNCTION aims_arg_final(state text[]) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT state[1]';
CREATE OR REPLACE FUNCTION aims_median_final(state double precision[]) RETURNS double precision
    LANGUAGE sql IMMUTABLE AS
    'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest(state) AS v';
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'arg_min') THEN
        CREATE AGGREGATE arg_min(text, bigint) (SFUNC = aims_arg_min_step, STYPE = text[], FINALFUNC = aims_arg_final);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'median') THEN
        CREATE AGGREGATE median(double precision) (
            SFUNC = array_append, STYPE = double precision[], FINALFUNC = aims_median_final, INITCOND = '{}');
    END IF;
END $$;
"""
