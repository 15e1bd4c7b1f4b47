"""Import: upload spreadsheets, see how each was understood, correct its columns, import all or nothing per file."""

import streamlit as st

from dashboard import store, ui
from dashboard.undo import UndoRefused, undo_import
from dashboard.units import near_duplicates_in_store
from etl.importer import import_bytes, results_table, validate_bytes
from etl.layouts import FIELDS
from etl.preview import command_line, listing, preview_bytes
from etl.problems import problems_csv, problems_frame
from etl.template import build_template
from etl.unit_aliases import with_unit_aliases

NONE = "(not imported)"
STATUS = {"ready": "ready to import", "rejected": "not importable", "already imported": "already imported"}
ui.page_setup()
st.title("Import spreadsheets")
user = ui.identity_box()
st.caption("Our template or other layouts (columns recognised by their header names, in English, French, Spanish or "
           "German). A file with any error is not imported at all; the same file is never imported twice.")
st.download_button("Download the import template", lambda: build_template(ui.catalog()), "aims-import-template.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="import_template",
                   on_click="ignore")
files = st.file_uploader("Spreadsheets (.xlsx, .xlsm, .csv)", type=["xlsx", "xlsm", "csv"], accept_multiple_files=True,
                         key="import_files")
left, right = st.columns(2)
unit = left.text_input("Business unit, for rows that name none", key="import_unit").strip() or None
label = right.text_input("Round label, for rows that name none (e.g. 2026-Q3)", key="import_label").strip() or None

ready = []
for number, upload in enumerate(files or []):
    data, key = upload.getvalue(), f"import_{number}_{upload.name}"
    auto = ui.query(preview_bytes, upload.name, data, unit, label, "")
    if auto.refused:  # hostile or unreadable: the refusal only, nothing to map or run
        st.expander(f"{upload.name} — refused", expanded=True).error(f"Refused before reading: {auto.message}")
        continue
    # the corrections first, so that the file's status below follows them
    with st.popover(f"Correct the columns of {upload.name}", icon=":material/tune:"):
        sheet = auto.sheet
        if len(auto.sheet_names) > 1:
            sheet = st.selectbox("Sheet", auto.sheet_names, key=f"{key}_sheet",
                                 index=auto.sheet_names.index(sheet) if sheet in auto.sheet_names else 0)
        row = int(st.number_input("Header row", min_value=1, value=auto.header_row or 1, key=f"{key}_row"))
        placed = auto.corrections(sheet=sheet, header_row=row)
        base = ui.query(preview_bytes, upload.name, data, unit, label, placed) if placed else auto
        options = [NONE, *base.headers]
        chosen = {name: st.selectbox(name, options, key=f"{key}_{placed}_{name}",
                                     index=options.index(base.mapping.get(name) or NONE)) for name in FIELDS}
        mapping = base.corrections(columns={n: (None if c == NONE else c) for n, c in chosen.items()})
    preview = ui.query(preview_bytes, upload.name, data, unit, label, mapping) if mapping != placed else base
    # --- units that look like existing ones: the person may use the existing unit (part of the mapping) ---
    near: dict[str, list[str]] = {}
    for name, other, _why in ui.query(near_duplicates_in_store, tuple(preview.units)):
        near.setdefault(name, []).append(other)
    aliases = {name: choice for name, others in near.items()
               if (choice := st.radio(f"{upload.name}: unit {name!r} looks like an existing unit", [None, *others],
                                      horizontal=True, key=f"{key}_unit_{name}", format_func=lambda o, n=name: (
                                          f"create {n!r}" if o is None else f"use {o!r}"))) is not None}
    if aliases:
        mapping = with_unit_aliases(mapping, aliases).to_json()
        preview = ui.query(preview_bytes, upload.name, data, unit, label, mapping)
    # --- end of the unit choice ---
    with st.expander(f"{upload.name} — {STATUS.get(preview.status, preview.status)}", expanded=True):
        if preview.status == "ready":
            st.success(f"Ready to import{' (with the corrections made)' if mapping else ''}.")
        elif preview.status == "rejected":
            st.error(f"Not importable as it is: {preview.errors} error(s), listed below; nothing of it is written.")
        else:
            st.info(f"This file was {preview.message}; it will not be loaded again.")
        cols = st.columns(5)
        for col, (name, value) in zip(cols, [("Rows", preview.rows_read), ("Items", preview.items),
                                             ("Assessments", preview.assessments), ("Warnings", preview.warnings),
                                             ("Errors", preview.errors)], strict=True):
            col.metric(name, value)
        if not preview.sheets.empty:
            ui.table(preview.sheets, key=f"{key}_sheets")
        if preview.units:
            st.caption(f"Units ({len(preview.units):,}): {listing(preview.units)} · "
                       f"Rounds ({len(preview.rounds):,}): {listing(preview.rounds)}")
        if preview.metadata:
            st.caption("Header block: " + " · ".join(f"{k}: {v}" for k, v in preview.metadata.items()))
        ui.table(preview.columns, key=f"{key}_columns")
        if preview.status == "ready":
            st.caption("The same import from the command line:")
            st.code(command_line(upload.name, unit, label, mapping), language="bash")
        if preview.problems:
            ui.table(problems_frame(preview.problems), key=f"{key}_problems")
            st.download_button("Download the report (CSV)", problems_csv(preview.problems).encode("utf-8-sig"),
                               f"{upload.name}-report.csv", mime="text/csv", key=f"{key}_report")
    if preview.status == "ready":
        ready.append((upload.name, data, mapping))

if files:
    if not user:
        st.warning("Type your name in the sidebar first: it is recorded with every imported change.")
    if st.button(f"Import {len(ready)} file(s)", type="primary", disabled=not ready or not user, key="import_run"):
        bar, results = st.progress(0.0, text="Starting…"), []
        for index, (name, data, mapping) in enumerate(ready):
            def show(fraction: float, text: str, index: int = index) -> None:
                bar.progress(min((index + fraction) / len(ready), 1.0), text=text)

            checked = validate_bytes(name, data, ui.catalog(), unit=unit, label=label, mapping=mapping,
                                     progress=show, audience="page")  # parsed before the database is taken
            results.append(ui.write(import_bytes, name, data, by=user, unit=unit, label=label, mapping=mapping,
                                    progress=show, audience="page", validated=checked))
        st.session_state["import_results"] = results
if results := st.session_state.get("import_results"):
    st.subheader("What changed")
    ui.table(results_table(results), key="import_summary")
    if problems := [p for r in results for p in r.problems]:
        ui.table(problems_frame(problems), key="import_result_problems")

imported = ui.query(store.list_imports)
if not imported.empty:
    st.subheader("Files imported so far")
    st.caption(f"{len(imported):,} file(s), newest first. Units and rounds: where the file created answers; an "
               "answer's history names the file it came from. The same file is never loaded twice.")
    ui.table_download(imported, "imported-files", key="import_history", limit=200,  # the CSV: every count
                      shown=["id", "file", "imported_at", "imported_by", "rows", "new_assessments", "new_responses", "units",
                             "rounds", "undone"])
    # --- undo one import: refused, with the list, when its answers were changed since or a round is final ---
    if done := st.session_state.pop("undo_done", None):
        st.success(done)
    undoable = {f"{r.id} · {r.file} · {r.imported_at:%Y-%m-%d %H:%M} by {r.imported_by}": int(r.id)
                for r in imported[imported["undone"].isna()].itertuples()}
    choice = st.selectbox("Undo an import", list(undoable), index=None, key="undo_choice")
    if st.button("Undo this import", key="undo_run", disabled=choice is None or not user):
        try:
            st.session_state["undo_done"] = ui.write(undo_import, undoable[choice], by=user).describe()
            st.rerun()
        except UndoRefused as exc:
            st.error(str(exc))
            ui.table(exc.conflicts, key="undo_conflicts")
