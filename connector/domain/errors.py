"""The one error the domain rules raise: a broken rule on one attribute, told in EN and FR."""

from __future__ import annotations


class RuleViolation(Exception):
    """Report a value that breaks a rule of the access-request form (R1–R13)."""

    def __init__(self, rule: str, field: str, detail_en: str, detail_fr: str,
                 kind: str = "invalidValue") -> None:
        super().__init__(f"{rule} {field}: {detail_en}")
        self.rule = rule
        self.field = field
        self.detail_en = detail_en
        self.detail_fr = detail_fr
        self.kind = kind

    def detail(self, french: bool = False) -> str:
        """Return the detail in French or English."""
        return self.detail_fr if french else self.detail_en

    def __repr__(self) -> str:
        return (f"RuleViolation(rule={self.rule!r}, field={self.field!r}, "
                f"kind={self.kind!r}, detail_en={self.detail_en!r})")

    def __reduce__(self) -> tuple[type[RuleViolation], tuple[str, str, str, str, str]]:
        return (RuleViolation,
                (self.rule, self.field, self.detail_en, self.detail_fr, self.kind))
