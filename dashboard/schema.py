"""The database schema as forward migrations, and the copy of the catalog that SQL scoring joins on.

Each migration runs once, in its own transaction, and records its number in `schema_version`.
Foreign keys are enforced in code, not declared: DuckDB refuses updates of rows that a foreign key
references, which would make renaming a unit or finalising an assessment impossible.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from dashboard.catalog import Catalog

__all__ = ["MIGRATIONS", "current_version", "migrate", "sync_catalog"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the initial schema
    """
    CREATE SEQUENCE unit_id_seq START 1;
    CREATE TABLE unit (
        id          INTEGER PRIMARY KEY DEFAULT nextval('unit_id_seq'),
        name        VARCHAR NOT NULL UNIQUE,
        parent_id   INTEGER,
        archived    BOOLEAN NOT NULL DEFAULT false,
        created_at  TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
    );
    CREATE SEQUENCE assessment_id_seq START 1;
    CREATE TABLE assessment (
        id              INTEGER PRIMARY KEY DEFAULT nextval('assessment_id_seq'),
        unit_id         INTEGER NOT NULL,
        label           VARCHAR NOT NULL,
        scope           VARCHAR NOT NULL CHECK (scope IN ('clauses', 'annex_a', 'both')),
        assessed_on     DATE,
        status          VARCHAR NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'final')),
        source          VARCHAR NOT NULL CHECK (source IN ('form', 'import', 'interview', 'demo')),
        catalog_version VARCHAR NOT NULL,
        default_target  SMALLINT NOT NULL DEFAULT 3 CHECK (default_target BETWEEN 0 AND 5),
        created_at      TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
        UNIQUE (unit_id, label)
    );
    CREATE TABLE response (
        assessment_id INTEGER NOT NULL,
        item_id       VARCHAR NOT NULL,
        maturity      SMALLINT CHECK (maturity BETWEEN 0 AND 5),
        target        SMALLINT CHECK (target BETWEEN 0 AND 5),
        applicable    BOOLEAN NOT NULL DEFAULT true,
        justification VARCHAR,
        evidence      VARCHAR,
        owner         VARCHAR,
        due_date      DATE,
        notes         VARCHAR,
        changed_by    VARCHAR,
        changed_at    TIMESTAMP,
        PRIMARY KEY (assessment_id, item_id)
    );
    CREATE SEQUENCE import_batch_id_seq START 1;
    CREATE TABLE import_batch (
        id           INTEGER PRIMARY KEY DEFAULT nextval('import_batch_id_seq'),
        content_hash VARCHAR NOT NULL UNIQUE,
        filename     VARCHAR NOT NULL,
        imported_by  VARCHAR,
        imported_at  TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
        row_count    INTEGER NOT NULL,
        summary      VARCHAR
    );
    CREATE SEQUENCE change_log_id_seq START 1;
    CREATE TABLE change_log (
        id            BIGINT PRIMARY KEY DEFAULT nextval('change_log_id_seq'),
        assessment_id INTEGER NOT NULL,
        item_id       VARCHAR,
        field         VARCHAR NOT NULL,
        old_value     VARCHAR,
        new_value     VARCHAR,
        changed_by    VARCHAR,
        changed_at    TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
        source        VARCHAR
    );
    CREATE TABLE summary_cache (
        cache_key      VARCHAR PRIMARY KEY,
        model          VARCHAR NOT NULL,
        prompt_version VARCHAR NOT NULL,
        created_at     TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
        content        VARCHAR NOT NULL
    );
    CREATE TABLE catalog_item (
        item_id  VARCHAR PRIMARY KEY,
        section  VARCHAR NOT NULL,
        kind     VARCHAR NOT NULL,
        title    VARCHAR NOT NULL,
        weight   DOUBLE NOT NULL,
        ord      INTEGER NOT NULL
    );
    CREATE TABLE catalog_section (
        section  VARCHAR PRIMARY KEY,
        kind     VARCHAR NOT NULL,
        title    VARCHAR NOT NULL,
        ord      INTEGER NOT NULL
    );
    CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);
    """,
    # 2: roadmap tracking per assessment and item. Status lives here; owner and due date set on the
    # roadmap override the response's (which stay as assessed), so a finalised round can still be tracked.
    """
    CREATE TABLE roadmap_action (
        assessment_id INTEGER NOT NULL,
        item_id       VARCHAR NOT NULL,
        status        VARCHAR NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in progress', 'done')),
        owner         VARCHAR,
        due_date      DATE,
        changed_by    VARCHAR,
        changed_at    TIMESTAMP,
        PRIMARY KEY (assessment_id, item_id)
    );
    """,
    # 3: a response records its own creation (who, when, how, from which imported file) instead of a
    # change-log row per field, or per response, for every row of every import. Existing responses take
    # it from their earliest change-log entry; the per-response `created` rows become redundant.
    """
    ALTER TABLE response ADD COLUMN created_by VARCHAR;
    ALTER TABLE response ADD COLUMN created_at TIMESTAMP;
    ALTER TABLE response ADD COLUMN created_source VARCHAR;
    ALTER TABLE response ADD COLUMN created_import INTEGER;
    UPDATE response SET created_by = f.changed_by, created_at = f.changed_at, created_source = f.source
    FROM (SELECT assessment_id, item_id, arg_min(changed_by, id) AS changed_by, min(changed_at) AS changed_at,
                 arg_min(source, id) AS source
          FROM change_log WHERE item_id IS NOT NULL GROUP BY assessment_id, item_id) f
    WHERE response.assessment_id = f.assessment_id AND response.item_id = f.item_id;
    UPDATE response SET created_by = changed_by, created_at = changed_at WHERE created_at IS NULL;
    DELETE FROM change_log WHERE field = 'created' AND item_id IS NOT NULL;
    """,
    # an import can be undone (dashboard/undo.py): each change-log row, assessment and unit an import wrote
    # names it; the import keeps the last change-log id before it ran (what came after is later work) and
    # who undid it, when.
    """
    ALTER TABLE change_log ADD COLUMN import_id INTEGER;
    ALTER TABLE assessment ADD COLUMN created_import INTEGER;
    ALTER TABLE unit ADD COLUMN created_import INTEGER;
    ALTER TABLE import_batch ADD COLUMN log_mark BIGINT;
    ALTER TABLE import_batch ADD COLUMN undone_by VARCHAR;
    ALTER TABLE import_batch ADD COLUMN undone_at TIMESTAMP;
    """,
    # crosswalks: mapping sets a user imported (ours ship as files in questionnaires/frameworks/mappings),
    # with their provenance and licence; a set's rows in order, 'no counterpart' rows naming one side only
    """
    CREATE TABLE mapping_set (
        id               VARCHAR PRIMARY KEY,
        name             VARCHAR NOT NULL,
        source_framework VARCHAR NOT NULL,
        target_framework VARCHAR NOT NULL,
        version          VARCHAR,
        made_by          VARCHAR NOT NULL,
        made_on          VARCHAR,
        made_from        VARCHAR,
        licence          VARCHAR NOT NULL,
        reviewed_by      VARCHAR,
        filename         VARCHAR,
        content_hash     VARCHAR NOT NULL,
        imported_by      VARCHAR,
        imported_at      TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
    );
    CREATE TABLE mapping_row (
        set_id       VARCHAR NOT NULL,
        ord          INTEGER NOT NULL,
        source_item  VARCHAR,
        target_item  VARCHAR,
        relationship VARCHAR NOT NULL,
        rationale    VARCHAR,
        PRIMARY KEY (set_id, ord)
    );
    """,
    # proposed answers: a level for a 42001 item proposed from another framework's assessment (an ISO 27001
    # item whose relationship to it is 'equal'); never an answer until an assessor accepts or changes it
    """
    CREATE TABLE proposal (
        assessment_id    INTEGER NOT NULL,
        item_id          VARCHAR NOT NULL,
        level            SMALLINT NOT NULL CHECK (level BETWEEN 0 AND 5),
        source_framework VARCHAR NOT NULL,
        source_items     VARCHAR NOT NULL,
        evidence         VARCHAR,
        filename         VARCHAR,
        mapping_set      VARCHAR NOT NULL,
        proposed_by      VARCHAR,
        proposed_at      TIMESTAMP NOT NULL,
        status           VARCHAR NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'changed', 'dismissed')),
        decided_by       VARCHAR,
        decided_at       TIMESTAMP,
        PRIMARY KEY (assessment_id, item_id)
    );
    """,
    # every assessment has a date (Latest per unit ranks rounds by it): an undated one takes the day it was
    # created, logged as a change by the migration ...
    """
    INSERT INTO change_log (assessment_id, item_id, field, old_value, new_value, changed_by, changed_at, source)
    SELECT id, NULL, 'assessed_on', NULL, CAST(CAST(created_at AS DATE) AS VARCHAR), 'migration',
           current_localtimestamp(), 'migration'
    FROM assessment WHERE assessed_on IS NULL;
    UPDATE assessment SET assessed_on = CAST(created_at AS DATE) WHERE assessed_on IS NULL;
    """,
    # ... and the column refuses a missing date from now on (its own transaction: DuckDB cannot add the
    # constraint in the transaction that updated the rows)
    """
    ALTER TABLE assessment ALTER COLUMN assessed_on SET NOT NULL;
    """,
    # the Statement of Applicability justifies an included control too (ISO/IEC 42001 6.1.3): the risks or
    # obligations it treats, kept apart from `justification`, which says why a control is excluded
    """
    ALTER TABLE response ADD COLUMN inclusion_justification VARCHAR;
    """,
    # sign-in and roles (dashboard/access.py): who holds which role, an assessor once per unit (unit_id NULL for
    # the organisation-wide roles); role changes go into change_log with no assessment
    """
    CREATE TABLE role_assignment (
        email      VARCHAR NOT NULL,
        role       VARCHAR NOT NULL CHECK (role IN ('administrator', 'lead', 'assessor', 'viewer')),
        unit_id    INTEGER,
        granted_by VARCHAR,
        granted_at TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
        CHECK ((role = 'assessor') = (unit_id IS NOT NULL))
    );
    ALTER TABLE change_log ALTER COLUMN assessment_id DROP NOT NULL;
    """,
    # campaigns (dashboard/campaigns.py, dashboard/review.py): a lead launches one round per unit at once; each
    # round's assessors (emails); the review state of a round once an assessor submits it (submitted / returned;
    # finalised is assessment.status 'final'); the lead's comments when returning it, per item or (item_id NULL)
    # for the round, numbered by return. Every step is also a change_log row (field 'review' or 'campaign').
    """
    CREATE SEQUENCE campaign_id_seq START 1;
    CREATE TABLE campaign (
        id             INTEGER PRIMARY KEY DEFAULT nextval('campaign_id_seq'),
        name           VARCHAR NOT NULL,
        scope          VARCHAR NOT NULL CHECK (scope IN ('clauses', 'annex_a', 'both')),
        label          VARCHAR NOT NULL,
        assessed_on    DATE NOT NULL,
        due_on         DATE,
        default_target SMALLINT NOT NULL DEFAULT 3 CHECK (default_target BETWEEN 0 AND 5),
        created_by     VARCHAR,
        created_at     TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
    );
    CREATE TABLE campaign_round (
        campaign_id   INTEGER NOT NULL,
        assessment_id INTEGER NOT NULL PRIMARY KEY
    );
    CREATE TABLE round_assessor (
        assessment_id INTEGER NOT NULL,
        email         VARCHAR NOT NULL,
        PRIMARY KEY (assessment_id, email)
    );
    CREATE TABLE round_review (
        assessment_id INTEGER NOT NULL PRIMARY KEY,
        state         VARCHAR NOT NULL CHECK (state IN ('submitted', 'returned')),
        returns       INTEGER NOT NULL DEFAULT 0,
        changed_by    VARCHAR,
        changed_at    TIMESTAMP
    );
    CREATE SEQUENCE review_comment_id_seq START 1;
    CREATE TABLE review_comment (
        id              BIGINT PRIMARY KEY DEFAULT nextval('review_comment_id_seq'),
        assessment_id   INTEGER NOT NULL,
        item_id         VARCHAR,
        comment         VARCHAR NOT NULL,
        made_by         VARCHAR,
        made_at         TIMESTAMP NOT NULL,
        state_when_made VARCHAR NOT NULL,
        return_no       INTEGER NOT NULL
    );
    """,
)


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
        "applied_at TIMESTAMP NOT NULL DEFAULT current_localtimestamp())"
    )
    return int(con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0])


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Run every migration newer than the database, each in one transaction; return the version."""
    version = current_version(con)
    for number, script in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(script)
            con.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        version = number
    return version


def sync_catalog(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Copy item weights, sections and order into the database when the catalog files changed."""
    stored = con.execute("SELECT value FROM meta WHERE key = 'catalog_digest'").fetchall()
    if stored and stored[0][0] == catalog.digest:
        return
    items = pd.DataFrame(
        [(i.id, i.section, i.kind, i.title, float(i.weight), i.order) for i in catalog.items],
        columns=["item_id", "section", "kind", "title", "weight", "ord"],
    )
    sections = pd.DataFrame(
        [(s.id, s.kind, s.title, n) for n, s in enumerate(catalog.sections, start=1)],
        columns=["section", "kind", "title", "ord"],
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM catalog_item")
        con.execute("DELETE FROM catalog_section")
        con.register("_items", items)
        con.register("_sections", sections)
        con.execute("INSERT INTO catalog_item SELECT * FROM _items")
        con.execute("INSERT INTO catalog_section SELECT * FROM _sections")
        con.unregister("_items")
        con.unregister("_sections")
        for key, value in (("catalog_digest", catalog.digest), ("catalog_version", catalog.version)):
            con.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]
            )
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
