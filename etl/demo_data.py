"""Deterministic demo data for the ISO/IEC 42001 gap-assessment dashboard.

Generates response rows (canonical import layout) for a fictional financial-services
group: ten business units, three assessment rounds over ~18 months, mixed scopes,
not-applicable controls, draft rounds with unassessed items and free-text evidence.
Standard library only; all randomness comes from one ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = ["DEMO_DRAFT_ROUNDS", "DEMO_ORGANISATION", "DEMO_ROUNDS", "DEMO_UNITS", "build_demo_rows"]

DEMO_ORGANISATION: str = "Aldermoor Financial Group"

DEMO_ROUNDS: tuple[tuple[str, str], ...] = (
    ("2025-Q1", "2025-03-20"),
    ("2025-Q4", "2025-11-14"),
    ("2026-Q3", "2026-08-28"),
)

_LATEST = DEMO_ROUNDS[-1][0]
DEMO_DRAFT_ROUNDS: frozenset[tuple[str, str]] = frozenset({
    ("HR & People", _LATEST),
    ("Marketing & Customer Analytics", _LATEST),
    ("Payments & Cards", _LATEST),
})


@dataclass(frozen=True)
class _Unit:
    name: str
    baseline: float                      # typical starting maturity
    adjust: dict[str, float]             # section -> offset (strengths / weaknesses)
    scopes: tuple[str, str, str]         # per round: "clauses" | "annex" | "both"
    owners: tuple[str, ...]              # roles and people used as owners
    contacts: tuple[str, ...]            # first names for "ask Marco" style evidence
    models: tuple[str, ...]              # AI systems the unit talks about
    targets: dict[str, int] = field(default_factory=dict)
    # item id -> (justification, last round index (0-based) marked "no", why it became applicable)
    not_applicable: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    cap: int = 4                         # strong units occasionally reach 5


_VENDOR_ONLY = "We only use vendor SaaS (Workday screening module); no in-house model development"
_UNITS: tuple[_Unit, ...] = (
    _Unit("Asset Management", 1.8, {"A.7": 0.5, "9": 0.3, "A.5": -0.7, "A.8": -0.5},
          ("annex", "both", "both"), ("Head of Quant Research", "L. Moreau", "COO Asset Management"),
          ("Luc", "Hanna"), ("ESG signal model", "portfolio rebalancing optimiser", "research summariser (GenAI)"),
          targets={"A.10.4": 2},
          not_applicable={"A.10.4": (("Funds are not marketed as AI-driven and no AI system is offered to "
                                      "clients; models only support our own portfolio managers."), 2, "")}),
    _Unit("Corporate Banking", 1.9, {"6": 0.4, "A.10": 0.4, "A.8": -0.6, "7": -0.4},
          ("clauses", "both", "both"), ("Head of Credit Analytics", "R. Haddad", "CDO Corporate"),
          ("Rami", "Ines"), ("credit spreading tool", "covenant monitoring NLP", "KYC entity resolution"),
          not_applicable={"A.7.3": (("No external data is bought for AI use; all training data comes from core "
                                     "banking (Temenos) and is covered by the group data standard."), 2, "")}),
    _Unit("Group IT", 2.7, {"A.4": 0.6, "A.6": 0.7, "A.7": 0.3, "5": -0.5, "A.5": -0.6, "A.8": -0.4},
          ("annex", "both", "both"), ("Head of MLOps", "T. Nakamura", "CIO Office", "Platform Architect"),
          ("Taro", "Bea", "Sven"), ("Ask Nora (GenAI assistant)", "ticket triage classifier",
                                    "code assistant pilot", "document OCR pipeline"),
          targets={"A.6.2.4": 4, "A.6.2.6": 4, "A.6.2.8": 4, "A.4.4": 4}, cap=5),
    _Unit("HR & People", 1.1, {"A.10": 0.6, "7": 0.5, "A.6": -0.5, "A.7": -0.6, "9": -0.4},
          ("clauses", "clauses", "both"), ("HR Business Partner Lead", "S. Lindqvist", "HRIS Manager"),
          ("Sara", "Jonas"), ("Workday screening module", "attrition dashboard", "HR chatbot (vendor)"),
          not_applicable={
              "A.6.2.2": (_VENDOR_ONLY + ".", 2, ""),
              "A.6.2.3": (("Design and development are done by the vendor; we review their release notes "
                           "and SOC 2 report instead (see A.10.3)."), 2, ""),
              "A.6.2.4": (("No models built in-house. Vendor validation evidence is requested through the "
                           "supplier questionnaire rather than produced by HR."), 2, ""),
              "A.6.2.7": (("Technical documentation is owned by Workday; HR keeps only the user-facing "
                           "configuration notes."), 2, "")}),
    _Unit("Life Insurance", 1.9, {"A.5": 0.4, "8": 0.3, "A.6": -0.4, "10": -0.5},
          ("clauses", "both", "both"), ("Chief Actuary", "P. Raman", "Head of Underwriting"),
          ("Priya", "Owen"), ("underwriting triage model", "mortality assumption GBM", "claims fraud flags")),
    _Unit("Marketing & Customer Analytics", 1.2,
          {"A.7": 0.4, "A.6": 0.3, "A.5": -0.6, "A.8": -0.5, "5": -0.4, "9": -0.5},
          ("annex", "both", "both"), ("Head of Customer Analytics", "M. Bianchi", "CMO Office"),
          ("Marco", "Giulia"), ("ChurnPredictor", "next-best-offer engine", "campaign propensity models"),
          not_applicable={
              "A.10.4": (("Our models only drive internal campaign targeting; we do not provide an AI product "
                          "or service to any customer."), 2, ""),
              "A.6.2.5": ("Deployment is done by Group IT on the shared platform, so it is assessed there.", 1,
                          "we now deploy our own models on the new MLOps platform")}),
    _Unit("Payments & Cards", 2.1, {"A.6": 0.5, "8": 0.4, "A.8": -0.5, "7": -0.3},
          ("clauses", "both", "both"), ("Head of Fraud Strategy", "D. Kowalski", "Payments CTO"),
          ("Dawid", "Amara"), ("FraudGuard", "chargeback classifier", "merchant risk score")),
    _Unit("Property & Casualty Insurance", 1.7, {"A.7": 0.3, "A.10": -0.5, "6": 0.2},
          ("both", "both", "both"), ("Claims Transformation Lead", "E. Brennan", "Pricing Manager"),
          ("Erin", "Felix"), ("ClaimsTriage", "motor pricing GBM", "photo damage estimator", "ClaimBuddy chatbot"),
          not_applicable={"A.10.4": (("No customer-facing AI yet; pricing models stay internal. Revisit when "
                                      "the ClaimBuddy chatbot goes live."), 1, "ClaimBuddy chatbot went live")}),
    _Unit("Retail Banking", 2.0, {"6": 0.4, "A.5": 0.4, "A.4": -0.5, "10": -0.4},
          ("clauses", "both", "both"), ("Head of Retail Analytics", "J. Okafor", "Retail CRO"),
          ("Joy", "Ben"), ("CreditScore v3", "affordability model", "mortgage doc extraction", "branch chatbot"),
          targets={"A.8.2": 4, "A.5.4": 4}),
    _Unit("Risk & Compliance", 2.6, {"6": 0.8, "9": 0.6, "10": 0.4, "A.5": 0.5, "A.6": -0.5, "A.7": -0.4},
          ("both", "both", "both"), ("Head of Model Risk", "K. Adeyemi", "Chief Compliance Officer"),
          ("Kemi", "Lars"), ("AML transaction monitoring", "sanctions screening fuzzy match", "ICAAP stress models"),
          targets={"6.1.2": 4, "A.5.2": 4, "6.1.4": 4, "9.2.1": 4},
          not_applicable={"A.6.2.5": (("Second line does not deploy models - we validate them. Deployment is "
                                       "covered by Group IT and the owning business units."), 2, "")},
          cap=5),
)
DEMO_UNITS: tuple[str, ...] = tuple(u.name for u in _UNITS)

# one-off events: (unit, round index, section) -> note explaining a drop of one level
_EVENTS: dict[tuple[str, int, str], str] = {
    ("Corporate Banking", 2, "A.6"): "Lead data scientist left in {month}; validation backlog since",
    ("Life Insurance", 2, "5"): "Policy lapsed - annual review of the AI policy was missed",
    ("Group IT", 2, "A.8"): "Rescored after internal audit sample found gaps",
}

_TOOLS = ("SharePoint", "Confluence", "Jira", "ServiceNow", "Archer", "MLflow", "Collibra", "Azure DevOps",
          "OneTrust", "the Teams channel")
_BODIES = ("AI Steering Committee", "Model Risk Committee", "Data Ethics Board", "Operational Risk Committee",
           "Group ExCo", "Architecture Review Board")
_PROJECTS = ("AIGOV", "RSK", "MLOPS", "CHG", "GRC")
_SECTION_DOCS: dict[str, tuple[str, ...]] = {
    "4": ("AI context analysis", "stakeholder register", "AIMS scope statement", "AI use-case inventory"),
    "5": ("Group AI Policy", "AIMS charter", "AI governance RACI", "ExCo minutes"),
    "6": ("AI risk methodology", "AI risk register", "impact assessment template", "AI objectives tracker"),
    "7": ("AI training curriculum", "competence matrix", "AIMS document register", "AI comms plan"),
    "8": ("risk treatment plan", "model lifecycle procedure", "impact assessment records", "ops control checklist"),
    "9": ("AIMS KPI pack", "internal audit programme", "management review minutes", "audit report"),
    "10": ("nonconformity log", "CAPA register", "lessons-learned log"),
    "A.2": ("Group AI Policy", "AI acceptable use standard", "policy alignment matrix"),
    "A.3": ("AI roles matrix", "speak-up procedure", "AI concern intake form"),
    "A.4": ("AI resource inventory", "dataset catalogue", "ML tooling inventory", "compute capacity plan"),
    "A.5": ("AIIA procedure", "AIIA records", "fairness assessment", "societal impact screening"),
    "A.6": ("model development standard", "requirements spec", "validation report", "deployment checklist",
            "monitoring runbook", "model card", "logging standard"),
    "A.7": ("data sourcing standard", "data quality rules", "lineage map", "data prep notebook", "provenance log"),
    "A.8": ("user guide", "customer AI notice", "incident comms playbook", "transparency statement"),
    "A.9": ("responsible use guideline", "intended-use statement", "human oversight procedure"),
    "A.10": ("supplier AI questionnaire", "AI contract clauses", "vendor risk assessment", "customer AI terms"),
}
# item id -> (typical artefact, what "doing it" looks like); our own wording, not the standard's
_ITEM_THEMES: dict[str, tuple[str, str]] = {
    "4.1": ("AI context analysis", "internal and external issues for AI reviewed with the strategy team"),
    "4.2": ("stakeholder register", "interested parties and their expectations listed and reviewed"),
    "4.3": ("AIMS scope statement", "scope boundaries agreed per legal entity and use case"),
    "4.4": ("AIMS manual", "AIMS processes and how they interact described"),
    "5.1": ("steering committee ToR", "ExCo sponsor attends steering and follows up AI objectives"),
    "5.2": ("Group AI Policy", "AI policy signed off and cascaded to staff"),
    "5.3": ("AI governance RACI", "roles assigned with named deputies"),
    "6.1.1": ("AIMS risk & opportunity log", "risks and opportunities for the AIMS identified and planned"),
    "6.1.2": ("AI risk register", "AI risks scored on the group 5x5 matrix"),
    "6.1.3": ("risk treatment plan", "treatment owners and controls assigned per risk"),
    "6.1.4": ("impact assessment template", "impact assessments run before go-live"),
    "6.2": ("AI objectives tracker", "objectives set with measurable KPIs"),
    "6.3": ("AIMS change log", "changes to the AIMS planned and approved"),
    "7.1": ("AI resource plan", "budget and headcount for AI governance agreed"),
    "7.2": ("competence matrix", "skills gaps mapped per role with training plans"),
    "7.3": ("AI awareness e-learning", "mandatory awareness module completed by staff"),
    "7.4": ("AI comms plan", "internal and external AI communications planned"),
    "7.5.1": ("AIMS document register", "required documents identified and listed"),
    "7.5.2": ("document control procedure", "documents versioned and approved before publishing"),
    "7.5.3": ("records retention schedule", "access rights and retention set for AIMS records"),
    "8.1": ("model lifecycle procedure", "stage gates enforced in the model lifecycle"),
    "8.2": ("AI risk register", "risk assessments repeated on schedule and on change"),
    "8.3": ("risk treatment plan", "risk treatments tracked to closure"),
    "8.4": ("AIIA records", "impact assessments repeated on material change"),
    "9.1": ("AIMS KPI pack", "KPIs reported to the steering committee monthly"),
    "9.2.1": ("internal audit report", "AI use cases covered by internal audit"),
    "9.2.2": ("internal audit programme", "risk-based audit plan approved"),
    "9.3.1": ("management review minutes", "management review held with actions"),
    "9.3.2": ("management review pack", "review inputs prepared (KPIs, audits, incidents)"),
    "9.3.3": ("management review action log", "review decisions recorded and followed up"),
    "10.1": ("improvement backlog", "improvement ideas prioritised and delivered"),
    "10.2": ("nonconformity log", "nonconformities logged with root cause and corrective action"),
    "A.2.2": ("Group AI Policy", "policy published and acknowledged by staff"),
    "A.2.3": ("policy alignment matrix", "overlaps with privacy, infosec and model risk policies mapped"),
    "A.2.4": ("policy review record", "policy reviewed on a fixed cycle"),
    "A.3.2": ("AI roles matrix", "model owners named for every system"),
    "A.3.3": ("speak-up procedure", "concerns about AI can be raised anonymously"),
    "A.4.2": ("AI resource inventory", "resources documented per AI system"),
    "A.4.3": ("dataset catalogue", "datasets listed per system with owners"),
    "A.4.4": ("ML tooling inventory", "tooling approved via the architecture board"),
    "A.4.5": ("compute capacity plan", "compute and hosting documented per system"),
    "A.4.6": ("skills inventory", "people and skills recorded per system"),
    "A.5.2": ("AIIA procedure", "impact assessments done for high-risk use cases"),
    "A.5.3": ("AIIA records", "assessment results kept with the model file"),
    "A.5.4": ("fairness assessment", "effects on individuals checked, incl. bias tests"),
    "A.5.5": ("societal impact screening", "wider societal effects screened"),
    "A.6.1.2": ("responsible AI objectives", "responsible-development goals written into project charters"),
    "A.6.1.3": ("model development standard", "design and build follow the development standard"),
    "A.6.2.2": ("requirements spec", "requirements captured before build"),
    "A.6.2.3": ("design document", "design choices documented"),
    "A.6.2.4": ("validation report", "independent validation before release"),
    "A.6.2.5": ("deployment checklist", "deployment gated by checklist"),
    "A.6.2.6": ("monitoring runbook", "drift monitoring with alerts"),
    "A.6.2.7": ("model card", "technical documentation kept current"),
    "A.6.2.8": ("logging standard", "event logs retained for 12 months"),
    "A.7.2": ("data management standard", "development data managed under the data standard"),
    "A.7.3": ("data sourcing standard", "data acquisition agreements checked"),
    "A.7.4": ("data quality rules", "data quality checks automated"),
    "A.7.5": ("lineage map", "lineage traced to source systems"),
    "A.7.6": ("data prep notebook", "preparation steps scripted and versioned"),
    "A.8.2": ("user guide", "user documentation available in the tool"),
    "A.8.3": ("external reporting form", "external parties can report adverse impacts"),
    "A.8.4": ("incident comms playbook", "incident communication rehearsed"),
    "A.8.5": ("transparency statement", "information for interested parties published"),
    "A.9.2": ("responsible use guideline", "responsible use rules briefed to users"),
    "A.9.3": ("AI use objectives", "objectives for responsible use tracked"),
    "A.9.4": ("intended-use statement", "intended use stated and checked"),
    "A.10.2": ("third-party RACI", "responsibilities split with vendors agreed"),
    "A.10.3": ("supplier AI questionnaire", "supplier due diligence covers AI"),
    "A.10.4": ("customer AI terms", "customer needs and terms for AI considered"),
}
# sections where evidence talks about individual AI systems rather than teams
_SYSTEM_SECTIONS = frozenset({"8", "A.4", "A.5", "A.6", "A.7", "A.8", "A.9"})
_PILOTS = ("one pilot team", "the leadership team", "head office", "the analytics team", "two departments")

_T0 = ("tbd", "nothing formal yet", "Not started. Planned for {next}.", "no evidence - nobody owns this yet",
       "n/a for now, will look at it after {next}")
_T1 = ("see {tool}", "tbd - ask {contact}", "in progress - ask {contact}", "Draft {doc} in {tool}, not approved",
       "some emails and a page on {tool}, nothing formal", "ad hoc; {contact} keeps a spreadsheet",
       "{doc} started {month} but stalled", "partly covered by the old {legacy} process",
       "{contact} to upload evidence", "Informal only, depends on who you ask")
_T2 = ("{Doc} v0.{minor} drafted by {contact}, used for {pilot} only. Not yet applied across the unit.",
       "{Doc} exists ({tool}) but last updated {month}; {act} informally.",
       "Piloted with {pilot}: {act}. Wider rollout waits for {body} approval.",
       "Partly - {act}. No consistent records, evidence scattered between {tool} and email.",
       "Some of it: {act} ({pilot}). {Doc} still a draft ({ticket}).",
       "Started in {month}. {Doc} v0.{minor} on {tool}; {contact} chasing sign-off")
_T3 = ("{Doc} v{major}.{minor} approved by {body} on {date}. {Act}; records in {tool} ({ticket}).",
       "{Act}; covers {k} of {n} {things}{incl}. {Doc} published on {tool}.",
       "Documented in {doc} (v{major}.{minor}, {date}). Applied consistently since {month}; sample checked by {contact}.",
       "{Act}. Evidence: {doc}, {tool} workflow {ticket}, {body} minutes {date}.",
       "Defined process; {act}. {k}/{n} {things} covered, remaining ones planned for {next}.")
_T4 = (("{Doc} v{major}.{minor} in force, reviewed every {period}. {Act}; tracked on the Power BI dashboard "
        "({pct}% green last quarter). Internal audit {audit}: no findings."),
       ("Fully embedded: {act} across all {n} {things}{incl}. Evidence pack in {tool} ({ticket}); "
        "last {body} review {date}."),
       "{Act} - measured monthly ({pct}% compliant in the last sample). {Doc} v{major}.{minor}; exceptions go to {body}.",
       ("Managed and measured. {Doc} v{major}.{minor} ({date}), controls tested by 2nd line in {month}, "
        "{pct}% pass rate."))
_T5 = (("Benchmarked against peers in {month}. {Act}, automated via {tool} pipelines; exceptions reviewed "
        "weekly. Improvement backlog in {ticket}."),
       "Optimised: {act} continuously, {pct}% automated checks, {doc} v{major}.{minor} shared as group template.")
_TEMPLATES = (_T0, _T1, _T2, _T3, _T4, _T5)
_UNASSESSED = ("not started - owner on leave", "waiting for input from {contact}", "to be scored before sign-off",
               "{contact} collecting evidence")
_LEGACY = ("model risk", "IT change", "vendor onboarding", "data governance", "NPAP")
_PERIODS = ("6 months", "year", "quarter")
_NOTES = ("Depends on group policy refresh", "Audit finding {audit}", "Raised at {body} {month}",
          "Shared service with Group IT", "Evidence to move to the AIMS SharePoint site", "Score agreed with 2nd line",
          "Challenged by Risk, kept at this level", "Budget requested for {year}", "Linked to supervisor letter - priority",
          "Quick win", "Needs the new {doc} first")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _add_months(d: date, months: int, day: int | None = None) -> date:
    total = d.year * 12 + d.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day or d.day, 28))


# why an included Annex A control is applied (the Statement of Applicability's inclusion justification), by
# objective, in our own words; a few controls are left without one, so that the SoA's warning shows
_INCLUSION = {
    "A.2": "Directs AI use by policy: risk of unmanaged AI use (risk register R-01)",
    "A.3": "Assigns accountability for AI: risk of unowned AI decisions (R-02)",
    "A.4": "Keeps AI resources known: risk of untracked data, tools and models (R-03)",
    "A.5": "Assesses impacts on people: obligation under the AI policy and customer contracts",
    "A.6": "Controls the AI system life cycle: risk of unsafe releases and drift (R-04)",
    "A.7": "Governs data for AI: data quality and provenance risk, privacy obligations (R-05)",
    "A.8": "Informs users and interested parties: transparency obligations to customers",
    "A.9": "Keeps AI use responsible: risk of misuse beyond the intended purpose (R-06)",
    "A.10": "Manages third parties and customers: supplier and contract risk (R-07)",
}


def _inclusion(unit_index: int, item: Any) -> str:
    if item.kind != "annex_a" or (unit_index * 7 + sum(map(ord, item.id))) % 13 == 0:
        return ""
    return _INCLUSION.get(item.section, "")


def _section_key(item: Any) -> str:
    section = str(getattr(item, "section", "") or "")
    if section:
        return section
    parts = str(item.id).split(".")
    return ".".join(parts[:2]) if parts[0] == "A" else parts[0]


def _evidence(rng: random.Random, unit: _Unit, item_id: str, section: str, maturity: int | None, when: date) -> str:
    docs = _SECTION_DOCS.get(section, ("working notes",))
    theme = _ITEM_THEMES.get(item_id, (rng.choice(docs), "process followed as described"))
    system = section in _SYSTEM_SECTIONS
    if maturity is None:
        templates: Sequence[str] = _UNASSESSED
    else:
        templates = _TEMPLATES[maturity]
        if maturity == 0 and rng.random() < 0.65:
            return ""
        if maturity == 1 and rng.random() < 0.15:
            return ""
    past = _add_months(when, -rng.randint(1, 10), rng.randint(1, 28))
    n = rng.randint(3, 14)
    doc, act = theme[0] if rng.random() < 0.7 else rng.choice(docs), theme[1]
    model = rng.choice(unit.models)
    slots = {
        "tool": rng.choice(_TOOLS), "contact": rng.choice(unit.contacts), "doc": doc, "Doc": doc[0].upper() + doc[1:],
        "act": act, "Act": act[0].upper() + act[1:], "model": model, "body": rng.choice(_BODIES),
        "pilot": model if system else rng.choice(_PILOTS), "things": "AI systems" if system else "teams",
        "incl": f" incl. {model}" if system else "",
        "month": f"{_MONTHS[past.month - 1]} {past.year}", "date": past.isoformat(), "legacy": rng.choice(_LEGACY),
        "next": f"Q{rng.randint(1, 4)} {when.year + 1}", "major": rng.randint(1, 3), "minor": rng.randint(1, 9),
        "ticket": f"{rng.choice(_PROJECTS)}-{rng.randint(100, 4999)}", "k": rng.randint(1, n - 1), "n": n,
        "period": rng.choice(_PERIODS), "pct": rng.randint(78, 100),
        "audit": f"IA-{past.year}-{rng.randint(1, 40):02d}",
    }
    text = rng.choice(templates).format(**slots)
    roll = rng.random()
    if roll < 0.05:  # people write in a hurry
        text = (text[0].lower() + text[1:]).rstrip(".")
    elif roll < 0.09:
        words = text.split(" ")
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 4:
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        text = " ".join(words)
    elif roll < 0.14 and maturity and maturity >= 2:
        text = text.rstrip(".") + f". See also {rng.choice(_TOOLS)}."
    return text


def build_demo_rows(items: Sequence[Any], default_target: int = 3, seed: int = 42) -> list[dict[str, object]]:
    """Return demo response rows for ``items`` (catalog order kept), ordered by unit, round, item."""
    rng = random.Random(seed)
    rounds = [(label, date.fromisoformat(day)) for label, day in DEMO_ROUNDS]
    rows: list[dict[str, object]] = []
    for unit_index, unit in enumerate(_UNITS):
        # latent maturity per item, evolving every round whether assessed or not
        level: dict[str, int] = {}
        reported: set[str] = set()  # items scored in the previous round
        for item in items:
            base = unit.baseline + unit.adjust.get(_section_key(item), 0.0) + rng.gauss(0.0, 0.6) - 0.3
            level[item.id] = max(0, min(unit.cap - 1, round(base)))
        for r, (label, when) in enumerate(rounds):
            notes_for: dict[str, str] = {}
            if r > 0:
                for item in items:
                    current = level[item.id]
                    target = unit.targets.get(item.id, default_target)
                    p_up = 0.45 + 0.1 * min(target - current, 2) if current < target else 0.12
                    p_down = 0.05 if current > 0 else 0.0
                    event = _EVENTS.get((unit.name, r, _section_key(item)))
                    roll = rng.random()
                    if (event and current > 0 and rng.random() < 0.6) or roll < p_down:
                        level[item.id] = current - 1
                        if event:
                            ev_month = _add_months(when, -3)
                            notes_for[item.id] = event.format(month=f"{_MONTHS[ev_month.month - 1]} {ev_month.year}")
                        elif rng.random() < 0.7:
                            notes_for[item.id] = rng.choice((
                                "Down from last round: process owner left, not followed since",
                                "Lapsed - annual review missed", "Rescored after internal audit sample",
                                f"Tool migration ({rng.choice(_TOOLS)}) broke the evidence trail"))
                    elif roll < p_down + p_up:
                        level[item.id] = min(unit.cap, current + 1)
            scope = unit.scopes[r]
            in_scope = [it for it in items
                        if scope == "both" or (scope == "clauses") == (it.kind == "clause")]
            unassessed: set[str] = set()
            if (unit.name, label) in DEMO_DRAFT_ROUNDS and in_scope:
                share = rng.uniform(0.12, 0.22)
                count = max(1, round(share * len(in_scope)))
                unassessed = {it.id for it in rng.sample(in_scope, count)}
            previous, reported = reported, set()
            for item in in_scope:
                section = _section_key(item)
                na = unit.not_applicable.get(item.id)
                applicable = not (item.kind == "annex_a" and na is not None and r <= na[1])
                maturity: int | None = level[item.id] if item.id not in unassessed else None
                target = unit.targets.get(item.id)
                effective = target if target is not None else default_target
                owner, due, notes, justification = "", "", "", ""
                if item.id in previous and maturity is not None:
                    notes = notes_for.get(item.id, "")
                if not applicable:
                    maturity, target, notes = None, None, ""
                    justification = na[0] if na else ""
                    evidence = rng.choice(("", "", "See justification", f"Confirmed with {rng.choice(unit.owners)}"))
                else:
                    evidence = _evidence(rng, unit, item.id, section, maturity, when)
                    below = maturity is None or maturity < effective
                    if below and rng.random() < (0.85 if maturity is not None else 0.4):
                        owner = rng.choice(unit.owners)
                    if maturity is not None and maturity < effective and rng.random() < 0.8:
                        months, day = rng.randint(3, 12), rng.choice((1, 15, 28, 28))
                        due = _add_months(when, months + (months == 3 and day < when.day), day).isoformat()
                    if maturity is None and not notes and rng.random() < 0.3:
                        notes = "To be completed before sign-off"
                    elif not notes and rng.random() < 0.1:
                        past = _add_months(when, -rng.randint(1, 8))
                        notes = rng.choice(_NOTES).format(
                            audit=f"{past.year}-{past.month:02d}", body=rng.choice(_BODIES),
                            month=f"{_MONTHS[past.month - 1]} {past.year}", year=when.year + 1,
                            doc=rng.choice(_SECTION_DOCS.get(section, ("policy",))))
                    if r > 0 and na is not None and item.kind == "annex_a" and r == na[1] + 1:
                        notes = f"Now in scope: {na[2]}" if na[2] else "Now in scope - was not applicable"
                if maturity is not None:
                    reported.add(item.id)
                rows.append({
                    "unit": unit.name, "assessment": label, "assessed_on": when.isoformat(),
                    "item_id": item.id, "title": item.title, "maturity": maturity, "target": target,
                    "applicable": "yes" if applicable else "no", "justification": justification,
                    "evidence": evidence, "owner": owner, "due_date": due, "notes": notes,
                    "inclusion_justification": _inclusion(unit_index, item) if applicable else "",
                })
    return rows
