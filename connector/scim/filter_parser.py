"""Parse SCIM filters and PATCH paths by recursive descent (RFC 7644 §3.4.2.2, §3.5.2).

The library's own parser gives `and` and `or` one precedence; §3.4.2.2 binds `and` tighter:
this parser does (or < and < not < primary). Nesting, comparisons and length are bounded
(scim/limits.py) so that no filter can exhaust the stack.
"""

from __future__ import annotations

from connector.scim.errors import InvalidFilter
from connector.scim.filter_ast import (
    COMPARE_OPS,
    And,
    AttrPath,
    Compare,
    Node,
    Not,
    Or,
    Present,
    ValuePath,
)
from connector.scim.filter_lexer import Token, error, tokenize
from connector.scim.limits import (
    MAX_FILTER_NESTING,
    MAX_FILTER_TERMS,
    check_filter_text,
    too_complex,
)

_LITERALS = {"true": True, "false": False, "null": None}


class Parser:
    """Recursive descent over the token stream: or < and < not < primary (RFC 7644 §3.4.2.2)."""

    def __init__(self, text: str) -> None:
        check_filter_text(text)
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0
        self.terms = 0

    def enter(self) -> None:
        """Count one more level of nesting: parentheses, `not`, value paths."""
        self.depth += 1
        if self.depth > MAX_FILTER_NESTING:
            raise too_complex(f"more than {MAX_FILTER_NESTING} nested levels",
                              f"plus de {MAX_FILTER_NESTING} niveaux imbriqués")

    def term(self) -> None:
        """Count one more comparison."""
        self.terms += 1
        if self.terms > MAX_FILTER_TERMS:
            raise too_complex(f"more than {MAX_FILTER_TERMS} comparisons",
                              f"plus de {MAX_FILTER_TERMS} comparaisons")

    def peek(self) -> Token | None:
        """Return the next token without consuming it."""
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def accept(self, *types: str) -> Token | None:
        """Consume and return the next token when it has one of `types`."""
        tok = self.peek()
        if tok is not None and tok.type in types:
            self.pos += 1
            return tok
        return None

    def expect(self, kind: str, what: str, what_fr: str) -> Token:
        """Consume a token of `kind` or raise InvalidFilter saying what was expected."""
        tok = self.accept(kind)
        if tok is None:
            raise self.fail(what, what_fr)
        return tok

    def fail(self, what: str, what_fr: str) -> InvalidFilter:
        """Build the syntax error for the current position."""
        tok = self.peek()
        if tok is None:
            where, where_fr = "at the end of the filter", "à la fin du filtre"
        else:
            found = self.text[tok.index:tok.end]
            where = f"at position {tok.index} (found '{found}')"
            where_fr = f"à la position {tok.index} (trouvé « {found} »)"
        return error(f"Invalid filter '{self.text}': expected {what} {where}.",
                      f"Filtre invalide « {self.text} » : on attendait {what_fr} {where_fr}.")

    def finish(self) -> None:
        """Raise unless every token was consumed."""
        if self.peek() is not None:
            raise self.fail("'and', 'or' or the end", "« and », « or » ou la fin")

    def filter(self, in_brackets: bool = False) -> Node:
        """FILTER: and-terms joined by `or` (left associative)."""
        node = self.conjunction(in_brackets)
        while self.accept("OR"):
            node = Or(node, self.conjunction(in_brackets))
        return node

    def conjunction(self, in_brackets: bool) -> Node:
        """Unary terms joined by `and`, which binds tighter than `or` (defect 1)."""
        node = self.unary(in_brackets)
        while self.accept("AND"):
            node = And(node, self.unary(in_brackets))
        return node

    def unary(self, in_brackets: bool) -> Node:
        """`not` applied to the next term, or a primary term."""
        if self.accept("NOT"):
            self.enter()
            node = Not(self.unary(in_brackets))
            self.depth -= 1
            return node
        return self.primary(in_brackets)

    def primary(self, in_brackets: bool) -> Node:
        """`( FILTER )`, a value path or an attribute expression."""
        if self.accept("LPAREN"):
            self.enter()
            node = self.filter(in_brackets)
            self.expect("RPAREN", "')'", "« ) »")
            self.depth -= 1
            return node
        self.term()
        path = self.attr_path()
        nxt = self.peek()
        if nxt is not None and nxt.type == "LBRACKET":
            if in_brackets or path.sub:
                raise self.fail("an operator", "un opérateur")
            inner = self.bracket()
            sub = self.accept("SUBATTR")
            if sub is None:
                return ValuePath(path, inner)
            # Entra ID matches on `emails[type eq "work"].value eq "x"`: an entry of the
            # value path whose sub-attribute also compares, i.e. `emails[type eq … and value eq …]`.
            return ValuePath(path, And(inner, self.comparison(AttrPath(None, str(
                sub.value).lower()))))
        return self.comparison(path)

    def comparison(self, path: AttrPath) -> Node:
        """`path pr` or `path op value`."""
        if self.accept("PR"):
            return Present(path)
        op = self.accept(*(o.upper() for o in COMPARE_OPS))
        if op is None:
            raise self.fail("an operator (eq ne co sw ew gt ge lt le pr)",
                            "un opérateur (eq ne co sw ew gt ge lt le pr)")
        return Compare(path, op.type.lower(), self.comp_value())

    def bracket(self) -> Node:
        """`[ valFilter ]` of a value path."""
        self.expect("LBRACKET", "'['", "« [ »")
        self.enter()
        node = self.filter(in_brackets=True)
        self.expect("RBRACKET", "']'", "« ] »")
        self.depth -= 1
        return node

    def attr_path(self) -> AttrPath:
        """attrPath = [URI ":"] ATTRNAME *1subAttr."""
        urn = self.accept("SCHEMA_URI")
        name = self.expect("ATTRNAME", "an attribute name", "un nom d'attribut")
        sub = self.accept("SUBATTR")
        return AttrPath(urn.value if urn else None, str(name.value).lower(),
                        str(sub.value).lower() if sub else None)

    def comp_value(self) -> object:
        """compValue = false / null / true / number / string (RFC 7159)."""
        tok = self.accept("COMP_VALUE", "NUMBER", "TRUE", "FALSE", "NULL", "ATTRNAME")
        if tok is not None and tok.type == "COMP_VALUE":
            return tok.value
        if tok is not None and tok.type == "NUMBER":
            return int(tok.value) if isinstance(tok.value, str) else tok.value
        if tok is not None and str(tok.value).lower() in _LITERALS:
            return _LITERALS[str(tok.value).lower()]
        if tok is not None:
            self.pos -= 1
        raise self.fail("a value (string, number, true, false or null)",
                        "une valeur (chaîne, nombre, true, false ou null)")




def parse_filter_text(text: str) -> Node:
    """Parse a filter without checking its attributes."""
    if not isinstance(text, str) or not text.strip():
        raise error("The filter is empty.", "Le filtre est vide.")
    parser = Parser(text)
    node = parser.filter()
    parser.finish()
    return node


def parse_path_text(text: str) -> AttrPath | ValuePath:
    """Parse a PATCH path `attrPath / valuePath [subAttr]` without checking its attributes."""
    if not isinstance(text, str) or not text.strip():
        raise error("The path is empty.", "Le chemin est vide.")
    parser = Parser(text)
    path = parser.attr_path()
    result: AttrPath | ValuePath = path
    if parser.peek() is not None and not path.sub:
        node = parser.bracket()
        sub = parser.accept("SUBATTR")
        result = ValuePath(path, node, str(sub.value).lower() if sub else None)
    parser.finish()
    return result
