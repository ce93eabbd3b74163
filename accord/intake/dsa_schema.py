"""The EU DSA Transparency Database's statement of reasons (SoR) as data: its code lists, its field rules
and a pure validator that applies them.

Why a validator of our own: the database takes a batch of 1 to 100 statements all or nothing, so one
bad statement would reject its 99 neighbours. Checking each statement before it is written keeps a
batch whole. The rules follow the Commission's validator (``GroupedSubmissionsService``, the batch
endpoint) as described in ``/work/shared/formats/dsa-statement-of-reasons.md``, with three deliberate
tightenings, each because Art. 24(5) DSA forbids personal data in a submission or because the docs are
stricter than the code:

- a field the database does not know is an error (the server ignores it; an unlisted field is exactly
  where an identifier would slip out), and one whose name looks like personal data says so;
- free-text values are scanned for e-mail addresses, URLs, IP addresses, phone numbers and @handles;
- ``territorial_scope`` is required and non-empty (the docs say required; the code allows null).

Conditional fields whose condition is false are not errors: the server drops them (and so may we).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = [
    "ACCOUNT_TYPES",
    "AUTOMATED_DECISIONS",
    "BATCH_MAX",
    "CATEGORIES",
    "CONTENT_TYPES",
    "DECISION_ACCOUNTS",
    "DECISION_GROUNDS",
    "DECISION_MONETARIES",
    "DECISION_PROVISIONS",
    "DECISION_VISIBILITIES",
    "EEA_COUNTRIES",
    "EU_COUNTRIES",
    "FIELDS",
    "KEYWORDS",
    "LANGUAGES",
    "PUID_PATTERN",
    "SOURCE_TYPES",
    "YES_NO",
    "FieldRule",
    "check_field",
    "validate_batch",
    "validate_statement",
]


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


DECISION_VISIBILITIES = _codes(
    """DECISION_VISIBILITY_CONTENT_REMOVED DECISION_VISIBILITY_CONTENT_DISABLED DECISION_VISIBILITY_CONTENT_DEMOTED
    DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED
    DECISION_VISIBILITY_CONTENT_LABELLED DECISION_VISIBILITY_OTHER"""
)
DECISION_MONETARIES = _codes("DECISION_MONETARY_SUSPENSION DECISION_MONETARY_TERMINATION DECISION_MONETARY_OTHER")
DECISION_PROVISIONS = _codes(
    """DECISION_PROVISION_PARTIAL_SUSPENSION DECISION_PROVISION_TOTAL_SUSPENSION
    DECISION_PROVISION_PARTIAL_TERMINATION DECISION_PROVISION_TOTAL_TERMINATION"""
)
DECISION_ACCOUNTS = _codes("DECISION_ACCOUNT_SUSPENDED DECISION_ACCOUNT_TERMINATED")
ACCOUNT_TYPES = _codes("ACCOUNT_TYPE_BUSINESS ACCOUNT_TYPE_PRIVATE")
DECISION_GROUNDS = _codes("DECISION_GROUND_ILLEGAL_CONTENT DECISION_GROUND_INCOMPATIBLE_CONTENT")
CONTENT_TYPES = _codes(
    """CONTENT_TYPE_APP CONTENT_TYPE_AUDIO CONTENT_TYPE_IMAGE CONTENT_TYPE_PRODUCT CONTENT_TYPE_SYNTHETIC_MEDIA
    CONTENT_TYPE_TEXT CONTENT_TYPE_VIDEO CONTENT_TYPE_OTHER"""
)
CATEGORIES = _codes(
    """STATEMENT_CATEGORY_ANIMAL_WELFARE STATEMENT_CATEGORY_CONSUMER_INFORMATION STATEMENT_CATEGORY_CYBER_VIOLENCE
    STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS
    STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS
    STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE
    STATEMENT_CATEGORY_OTHER_VIOLATION_TC STATEMENT_CATEGORY_PROTECTION_OF_MINORS
    STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY STATEMENT_CATEGORY_SCAMS_AND_FRAUD STATEMENT_CATEGORY_SELF_HARM
    STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS STATEMENT_CATEGORY_VIOLENCE"""
)
KEYWORDS = _codes(
    """KEYWORD_ADULT_SEXUAL_MATERIAL KEYWORD_AGE_SPECIFIC_RESTRICTIONS KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS
    KEYWORD_ANIMAL_HARM KEYWORD_BIOMETRIC_DATA_BREACH KEYWORD_BULLYING_AGAINST_GIRLS
    KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE
    KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS KEYWORD_COORDINATED_HARM KEYWORD_COPYRIGHT_INFRINGEMENT
    KEYWORD_CYBER_BULLYING_INTIMIDATION KEYWORD_CYBER_HARASSMENT KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN
    KEYWORD_CYBER_INCITEMENT KEYWORD_CYBER_STALKING KEYWORD_CYBER_STALKING_AGAINST_WOMEN KEYWORD_DATA_FALSIFICATION
    KEYWORD_DEFAMATION KEYWORD_DESIGN_INFRINGEMENT KEYWORD_DISCRIMINATION KEYWORD_FEMALE_GENDERED_DISINFORMATION
    KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT KEYWORD_GEOGRAPHICAL_REQUIREMENTS KEYWORD_GOODS_SERVICES_NOT_PERMITTED
    KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS KEYWORD_HATE_SPEECH KEYWORD_HIDDEN_ADVERTISEMENT
    KEYWORD_HUMAN_EXPLOITATION KEYWORD_HUMAN_TRAFFICKING KEYWORD_ILLEGAL_ORGANIZATIONS
    KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING KEYWORD_INAUTHENTIC_ACCOUNTS KEYWORD_INAUTHENTIC_LISTINGS
    KEYWORD_INAUTHENTIC_USER_REVIEWS KEYWORD_INCITEMENT_AGAINST_WOMEN KEYWORD_INCITEMENT_VIOLENCE_HATRED
    KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS KEYWORD_LANGUAGE_REQUIREMENTS KEYWORD_MISINFORMATION_DISINFORMATION
    KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS KEYWORD_MISLEADING_INFO_GOODS_SERVICES KEYWORD_MISSING_PROCESSING_GROUND
    KEYWORD_NON_CONSENSUAL_IMAGE_SHARING KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN
    KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN
    KEYWORD_NONCOMPLIANCE_PRICING KEYWORD_NUDITY KEYWORD_PATENT_INFRINGEMENT KEYWORD_PHISHING
    KEYWORD_PROHIBITED_PRODUCTS KEYWORD_PYRAMID_SCHEMES KEYWORD_RIGHT_TO_BE_FORGOTTEN KEYWORD_RISK_ENVIRONMENTAL_DAMAGE
    KEYWORD_RISK_PUBLIC_HEALTH KEYWORD_SELF_MUTILATION KEYWORD_STALKING KEYWORD_SUICIDE KEYWORD_TERRORIST_CONTENT
    KEYWORD_TRADE_SECRET_INFRINGEMENT KEYWORD_TRADEMARK_INFRINGEMENT KEYWORD_TRAFFICKING_WOMEN_GIRLS
    KEYWORD_UNLAWFUL_SALE_ANIMALS KEYWORD_UNSAFE_CHALLENGES KEYWORD_UNSAFE_PRODUCTS KEYWORD_VIOLATION_EU_LAW
    KEYWORD_VIOLATION_NATIONAL_LAW KEYWORD_OTHER"""
)
SOURCE_TYPES = _codes("SOURCE_ARTICLE_16 SOURCE_TRUSTED_FLAGGER SOURCE_TYPE_OTHER_NOTIFICATION SOURCE_VOLUNTARY")
AUTOMATED_DECISIONS = _codes("AUTOMATED_DECISION_FULLY AUTOMATED_DECISION_PARTIALLY AUTOMATED_DECISION_NOT_AUTOMATED")
YES_NO = frozenset({"Yes", "No"})
# Greece is GR here (ISO 3166), not the EU's own EL.
EU_COUNTRIES = _codes("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK")
EEA_COUNTRIES = EU_COUNTRIES | {"IS", "LI", "NO"}
# Upper-case ISO 639-1, as EuropeanLanguagesService::ALL_LANGUAGES lists them (184 codes).
LANGUAGES = _codes(
    """AB AA AF AK SQ AM AR AN HY AS AV AE AY AZ BM BA EU BE BN BH BI BS BR BG MY CA KM CH CE NY ZH CU CV KW CO CR HR
    CS DA DV NL DZ EN EO ET EE FO FJ FI FR FF GD GL LG KA DE KI EL KL GN GU HT HA HE HZ HI HO HU IS IO IG ID IA IE IU
    IK GA IT JA JV KN KR KS KK RW KV KG KO KJ KU KY LO LA LV LB LI LN LT LU MK MG MS ML MT GV MI MR MH RO MN NA NV ND
    NG NE SE NO NB NN II OC OJ OR OM OS PI PA PS FA PL PT QU RM RN RU SM SG SA SC SR SN SD SI SK SL SO ST NR ES SU SW
    SS SV TL TY TG TA TT TE TH BO TI TO TS TN TR TK TW UG UK UR UZ VE VI VO WA CY FY WO XH YI YO ZA ZU"""
)
PUID_PATTERN = re.compile(r"[a-zA-Z0-9_-]+")
BATCH_MAX = 100
_CONTENT_FIRST, _APPLICATION_FIRST, _LAST = date(2000, 1, 1), date(2020, 1, 1), date(2038, 1, 1)

Kind = Literal["code", "codes", "text", "date", "yes_no", "url", "puid", "ean"]


@dataclass(frozen=True)
class FieldRule:
    """One field: its kind, its code list or length limit, and when it is required. ``when`` is
    ``(field, code)``: required when that field equals (or, for a list, contains) the code."""

    kind: Kind
    codes: frozenset[str] = frozenset()
    max_len: int = 500
    required: bool = False
    when: tuple[str, str] | None = None
    first: date | None = None
    last: date = _LAST


_ILLEGAL = ("decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT")
_INCOMPATIBLE = ("decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT")

# The batch endpoint's fields, in the reference's order. ``content_id_ean`` (single endpoint only) is absent.
FIELDS: Mapping[str, FieldRule] = {
    "decision_visibility": FieldRule("codes", DECISION_VISIBILITIES),
    "decision_visibility_other": FieldRule("text", when=("decision_visibility", "DECISION_VISIBILITY_OTHER")),
    "end_date_visibility_restriction": FieldRule("date"),
    "decision_monetary": FieldRule("code", DECISION_MONETARIES),
    "decision_monetary_other": FieldRule("text", when=("decision_monetary", "DECISION_MONETARY_OTHER")),
    "end_date_monetary_restriction": FieldRule("date"),
    "decision_provision": FieldRule("code", DECISION_PROVISIONS),
    "end_date_service_restriction": FieldRule("date"),
    "decision_account": FieldRule("code", DECISION_ACCOUNTS),
    "end_date_account_restriction": FieldRule("date"),
    "account_type": FieldRule("code", ACCOUNT_TYPES),
    "decision_ground": FieldRule("code", DECISION_GROUNDS, required=True),
    "decision_ground_reference_url": FieldRule("url"),
    "illegal_content_legal_ground": FieldRule("text", when=_ILLEGAL),
    "illegal_content_explanation": FieldRule("text", max_len=2000, when=_ILLEGAL),
    "incompatible_content_ground": FieldRule("text", when=_INCOMPATIBLE),
    "incompatible_content_explanation": FieldRule("text", max_len=2000, when=_INCOMPATIBLE),
    "incompatible_content_illegal": FieldRule("yes_no"),
    "decision_facts": FieldRule("text", max_len=5000, required=True),
    "content_type": FieldRule("codes", CONTENT_TYPES, required=True),
    "content_type_other": FieldRule("text", when=("content_type", "CONTENT_TYPE_OTHER")),
    "content_date": FieldRule("date", required=True, first=_CONTENT_FIRST),
    "application_date": FieldRule("date", required=True, first=_APPLICATION_FIRST),
    "content_language": FieldRule("code", LANGUAGES),
    "content_id": FieldRule("ean"),
    "territorial_scope": FieldRule("codes", EEA_COUNTRIES, required=True),
    "category": FieldRule("code", CATEGORIES, required=True),
    "category_addition": FieldRule("codes", CATEGORIES),
    "category_specification": FieldRule("codes", KEYWORDS),
    "category_specification_other": FieldRule("text"),
    "source_type": FieldRule("code", SOURCE_TYPES, required=True),
    "source_identity": FieldRule("text"),
    "automated_detection": FieldRule("yes_no", required=True),
    "automated_decision": FieldRule("code", AUTOMATED_DECISIONS, required=True),
    "puid": FieldRule("puid", required=True),
}
_DECISIONS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")

# Names that say "this is about a person": refused outright whatever their value (Art. 24(5) DSA).
_PERSONAL_NAME = re.compile(
    r"e-?mail|phone|msisdn|\bip\b|ip_?addr|(^|_)ip($|_)|user|account_?(id|name)|handle|name$|^name|address|"
    r"url|uri$|device|imei|birth|dob|location|geo|lat$|lon$|victim|suspect|narrative|subject",
    re.IGNORECASE,
)
# Values that look like an identifier of a person, searched for in every free-text field.
_PERSONAL_VALUE = (
    ("an e-mail address", re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")),
    ("a URL", re.compile(r"\b(?:https?|ftp)://|\bwww\.", re.IGNORECASE)),
    ("an IP address", re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)(?!\w)")),
    (
        "an IP address",
        re.compile(
            r"(?<![\w:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"  # full form
            r"|(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5})?"  # compressed: 2001:db8::1
            r"|::[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})(?![\w:])",  # leading: ::1
            re.IGNORECASE,
        ),
    ),
    ("a phone number", re.compile(r"(?<![\w/])\+?\d(?:[\s().-]?\d){8,}(?![\w/])")),
    ("an account handle", re.compile(r"(?<![\w.])@\w{2,}")),
)


def _present(value: Any) -> bool:
    return value is not None and value != [] and value != ""


def _has(statement: Mapping[str, Any], cond: tuple[str, str]) -> bool:
    value = statement.get(cond[0])
    return cond[1] in value if isinstance(value, list) else value == cond[1]


def _personal_data(text: str) -> str | None:
    for what, pattern in _PERSONAL_VALUE:
        if pattern.search(text):
            return f"looks like personal data ({what}); a statement must carry none (Art. 24(5) DSA)"
    return None


def _check(name: str, rule: FieldRule, value: Any) -> str | None:
    """The fault in one present value, or None."""
    match rule.kind:
        case "code":
            if not isinstance(value, str) or value not in rule.codes:
                return f"unknown code {value!r}"
        case "codes":
            if not isinstance(value, list) or not value:
                return "must be a non-empty list of codes"
            bad = [v for v in value if not isinstance(v, str) or v not in rule.codes]
            if bad:
                return f"unknown code {bad[0]!r}"
        case "text":
            if not isinstance(value, str):
                return "must be a string"
            if len(value) > rule.max_len:
                return f"longer than {rule.max_len} characters"
            return _personal_data(value)
        case "yes_no":
            if isinstance(value, bool):
                return 'must be the string "Yes" or "No", not a boolean'
            if value not in YES_NO:
                return 'must be "Yes" or "No"'
        case "date":
            return _check_date(value, rule)
        case "url":
            if not isinstance(value, str) or len(value) > rule.max_len:
                return f"must be a URL of at most {rule.max_len} characters"
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                return "must be an absolute http(s) URL"
        case "puid":
            if not isinstance(value, str) or not PUID_PATTERN.fullmatch(value):
                return "must be letters, digits, '-' and '_' only"
            if len(value) > rule.max_len:
                return f"longer than {rule.max_len} characters"
        case "ean":
            if not isinstance(value, dict) or set(value) != {"EAN-13"}:
                return 'must be {"EAN-13": "<13 digits>"}'
            ean = value["EAN-13"]
            if not isinstance(ean, str) or not re.fullmatch(r"[0-9]{13}", ean):
                return "EAN-13 must be a string of 13 digits"
    return None


def _check_date(value: Any, rule: FieldRule) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return "must be a date as YYYY-MM-DD"
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return "not a calendar date"
    if rule.first and day < rule.first:
        return f"must be on or after {rule.first.isoformat()}"
    if day > rule.last:
        return f"must be on or before {rule.last.isoformat()}"
    return None


def check_field(name: str, value: Any) -> str | None:
    """The fault in one field's present value taken alone (no conditions), or None."""
    return _check(name, FIELDS[name], value)


def validate_statement(statement: Mapping[str, Any]) -> dict[str, str]:
    """Faults in one statement as {field: message}; empty when the database would accept it and it
    carries no personal data that we can see."""
    errors: dict[str, str] = {}
    for name in statement:
        if name not in FIELDS:
            errors[name] = (
                "personal data field: a statement must carry none (Art. 24(5) DSA)"
                if _PERSONAL_NAME.search(name)
                else "not a field of the statement of reasons (batch endpoint)"
            )
    for name, rule in FIELDS.items():
        value = statement.get(name)
        if _present(value):
            fault = _check(name, rule, value)
            if fault:
                errors[name] = fault
        elif rule.required:
            errors[name] = "required"
        elif rule.when and _has(statement, rule.when):
            errors[name] = f"required when {rule.when[0]} is {rule.when[1]}"
    if not any(_present(statement.get(d)) for d in _DECISIONS):
        errors.setdefault("decision_visibility", f"at least one of {', '.join(_DECISIONS)} is required")
    return errors


def validate_batch(body: Any) -> dict[str, str]:
    """Faults in a batch body ``{"statements": [...]}``, keyed as the server keys them
    (``statement_<index>.<field>``), plus ``statements`` for the envelope and ``puid`` repeats."""
    if not isinstance(body, dict) or set(body) != {"statements"} or not isinstance(body["statements"], list):
        return {"statements": 'the body must be {"statements": [...]}'}
    statements = body["statements"]
    if not 1 <= len(statements) <= BATCH_MAX:
        return {"statements": f"a batch holds 1 to {BATCH_MAX} statements, not {len(statements)}"}
    errors: dict[str, str] = {}
    seen: set[Any] = set()
    for i, st in enumerate(statements):
        if not isinstance(st, dict):
            errors[f"statement_{i}"] = "must be an object"
            continue
        errors.update({f"statement_{i}.{k}": m for k, m in validate_statement(st).items()})
        if st.get("puid") in seen:
            errors[f"statement_{i}.puid"] = "repeats a puid earlier in the batch"
        seen.add(st.get("puid"))
    return errors
