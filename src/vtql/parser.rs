//! Recursive descent over the tokens: one `parse_*` per grammar rule (see
//! the grammar in `mod.rs`). Syntax only; modules and columns are checked
//! against the registry when the query is translated.
use super::ast::{Columns, Direction, Expr, Limit, Literal, Op, Select};
use super::lexer::{is_number, Tok, Token};
use super::VtqlError;

/// How deep parentheses may nest.
pub const MAX_DEPTH: usize = 32;

/// The parser's position in the token list.
pub struct Parser<'q> {
    tokens: Vec<Token<'q>>,
    pos: usize,
    depth: usize,
    query: &'q str,
}

impl<'q> Parser<'q> {
    /// A parser over `tokens` of `query`.
    pub fn new(query: &'q str, tokens: Vec<Token<'q>>) -> Self {
        Parser {
            tokens,
            pos: 0,
            depth: 0,
            query,
        }
    }

    fn peek(&self) -> Option<&Tok<'q>> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    /// Consumes the keyword `kw` (case-insensitive) if it comes next.
    fn next_is(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `tok` if it comes next.
    fn next_sym(&mut self, tok: &Tok<'_>) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str, name: &str) -> Result<(), VtqlError> {
        if self.next_is(kw) {
            Ok(())
        } else {
            Err(self.expected(&[name]))
        }
    }

    fn expect_sym(&mut self, tok: Tok<'_>, name: &str) -> Result<(), VtqlError> {
        if self.next_sym(&tok) {
            Ok(())
        } else {
            Err(self.expected(&[name]))
        }
    }

    /// A name: a word that is not a keyword of the current rule.
    fn next_ident(&mut self, name: &str) -> Result<String, VtqlError> {
        match self.peek() {
            Some(Tok::Word(w)) if !is_number(w) && !w.contains('.') => {
                let w = w.to_string();
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.expected(&[name])),
        }
    }

    fn next_number(&mut self, name: &str) -> Result<u64, VtqlError> {
        match self.peek() {
            Some(Tok::Word(w)) if w.bytes().all(|b| b.is_ascii_digit()) => {
                let n = w.parse().map_err(|_| self.expected(&[name]))?;
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.expected(&[name])),
        }
    }

    /// vtiger's message: `Syntax Error on line 1: token 'X' Unexpected
    /// NAME(X), expected one of: A, B` (spec §8.3, shared/golden seq 230-231).
    fn expected(&self, names: &[&str]) -> VtqlError {
        let (token, found, at) = match self.tokens.get(self.pos) {
            Some(t) => {
                let text = token_text(self.query, t);
                (
                    text.clone(),
                    format!("{}({text})", token_name(&t.tok)),
                    t.at,
                )
            }
            None => {
                let last = self
                    .tokens
                    .last()
                    .map(|t| token_text(self.query, t))
                    .unwrap_or_default();
                (last, "End of Input(0)".to_string(), self.query.len())
            }
        };
        VtqlError::syntax(
            at,
            format!(
                "Syntax Error on line 1: token '{token}' Unexpected {found}, expected one of: {}",
                names.join(", ")
            ),
        )
    }

    /// query := SELECT columns FROM name [WHERE expr] [ORDER BY order]
    ///          [LIMIT limit] ; END
    pub fn parse_query(&mut self) -> Result<Select, VtqlError> {
        self.expect_kw("select", "SELECT")?;
        let columns = self.parse_columns()?;
        self.expect_kw("from", "FRM")?;
        let module = self.next_ident("TABLENAME")?;
        let filter = if self.next_is("where") {
            Some(self.parse_or()?)
        } else {
            None
        };
        let order = if self.next_is("order") {
            self.expect_kw("by", "ORDERBY")?;
            self.parse_order()?
        } else {
            Vec::new()
        };
        let limit = if self.next_is("limit") {
            Some(self.parse_limit()?)
        } else {
            None
        };
        self.expect_sym(Tok::Semicolon, "SEMICOLON")?;
        if self.pos < self.tokens.len() {
            return Err(self.expected(&["End of Input"]));
        }
        Ok(Select {
            columns,
            module,
            filter,
            order,
            limit,
        })
    }

    /// columns := * | count ( * ) | name (, name)*
    fn parse_columns(&mut self) -> Result<Columns, VtqlError> {
        if self.next_sym(&Tok::Star) {
            return Ok(Columns::All);
        }
        if matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("count"))
            && self.tokens.get(self.pos + 1).map(|t| &t.tok) == Some(&Tok::Open)
        {
            self.pos += 1;
            self.expect_sym(Tok::Open, "PARENOPEN")?;
            self.expect_sym(Tok::Star, "ASTERISK")?;
            self.expect_sym(Tok::Close, "PARENCLOSE")?;
            return Ok(Columns::Count);
        }
        let mut list = vec![self.next_ident("COLUMNNAME")?];
        while self.next_sym(&Tok::Comma) {
            list.push(self.next_ident("COLUMNNAME")?);
        }
        Ok(Columns::List(list))
    }

    /// or := and (OR and)*
    fn parse_or(&mut self) -> Result<Expr, VtqlError> {
        let mut left = self.parse_and()?;
        while self.next_is("or") {
            left = Expr::Or(Box::new(left), Box::new(self.parse_and()?));
        }
        Ok(left)
    }

    /// and := primary (AND primary)*
    fn parse_and(&mut self) -> Result<Expr, VtqlError> {
        let mut left = self.parse_primary()?;
        while self.next_is("and") {
            left = Expr::And(Box::new(left), Box::new(self.parse_primary()?));
        }
        Ok(left)
    }

    /// primary := NOT primary | ( or ) | predicate
    fn parse_primary(&mut self) -> Result<Expr, VtqlError> {
        if self.next_is("not") {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(VtqlError::syntax(
                    self.tokens[self.pos - 1].at,
                    "Parser stack overflow".into(),
                ));
            }
            let e = self.parse_primary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        if self.next_sym(&Tok::Open) {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(VtqlError::syntax(
                    self.tokens[self.pos - 1].at,
                    "Parser stack overflow".into(),
                ));
            }
            let e = self.parse_or()?;
            self.expect_sym(Tok::Close, "PARENCLOSE")?;
            self.depth -= 1;
            return Ok(e);
        }
        self.parse_predicate()
    }

    /// predicate := name op value | name [NOT] IN ( value (, value)* )
    ///            | name [NOT] LIKE value | name IS [NOT] NULL
    ///            | name BETWEEN value AND value
    fn parse_predicate(&mut self) -> Result<Expr, VtqlError> {
        let column = self.next_ident("COLUMNNAME")?;
        if self.next_is("is") {
            let negated = self.next_is("not");
            self.expect_kw("null", "NULL")?;
            return Ok(Expr::IsNull(column, !negated));
        }
        if self.next_is("between") {
            let low = self.parse_value()?;
            self.expect_kw("and", "LOGICAL_AND")?;
            let high = self.parse_value()?;
            return Ok(Expr::Between(column, low, high));
        }
        if self.next_is("not") {
            let inner = self.parse_in_or_like(column)?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") || w.eq_ignore_ascii_case("like"))
        {
            return self.parse_in_or_like(column);
        }
        let op = match self.peek() {
            Some(Tok::Eq) => Op::Eq,
            Some(Tok::Ne) => Op::Ne,
            Some(Tok::Lt) => Op::Lt,
            Some(Tok::Gt) => Op::Gt,
            Some(Tok::Le) => Op::Le,
            Some(Tok::Ge) => Op::Ge,
            _ => return Err(self.expected(&["EQ", "LT", "GT", "LTE", "GTE", "NE", "IN", "LIKE"])),
        };
        self.pos += 1;
        Ok(Expr::Compare(column, op, self.parse_value()?))
    }

    /// The rest of `name IN (…)` or `name LIKE value`.
    fn parse_in_or_like(&mut self, column: String) -> Result<Expr, VtqlError> {
        if self.next_is("like") {
            return Ok(Expr::Compare(column, Op::Like, self.parse_value()?));
        }
        if self.next_is("in") {
            self.expect_sym(Tok::Open, "PARENOPEN")?;
            let mut values = vec![self.parse_value()?];
            while self.next_sym(&Tok::Comma) {
                values.push(self.parse_value()?);
            }
            self.expect_sym(Tok::Close, "PARENCLOSE")?;
            return Ok(Expr::In(column, values));
        }
        Err(self.expected(&["IN", "LIKE"]))
    }

    /// value := STRING | NUMBER | WSID
    fn parse_value(&mut self) -> Result<Literal, VtqlError> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.to_string();
                self.pos += 1;
                Ok(Literal::Text(s))
            }
            Some(Tok::Word(w)) if is_number(w) => {
                let w = w.to_string();
                self.pos += 1;
                Ok(Literal::Number(w))
            }
            // vtiger reads `12x5` unquoted as a value: ids and references
            // may be written without quotes (spec §8.3).
            Some(Tok::Word(w)) if is_webservice_id(w) => {
                let w = w.to_string();
                self.pos += 1;
                Ok(Literal::Text(w))
            }
            _ => Err(self.expected(&["VALUE"])),
        }
    }

    /// order := name [ASC|DESC] (, name [ASC|DESC])*
    fn parse_order(&mut self) -> Result<Vec<(String, Option<Direction>)>, VtqlError> {
        let mut items = Vec::new();
        loop {
            let column = self.next_ident("COLUMNNAME")?;
            let dir = if self.next_is("asc") {
                Some(Direction::Asc)
            } else if self.next_is("desc") {
                Some(Direction::Desc)
            } else {
                None
            };
            items.push((column, dir));
            if !self.next_sym(&Tok::Comma) {
                return Ok(items);
            }
        }
    }

    /// limit := count | offset , count
    fn parse_limit(&mut self) -> Result<Limit, VtqlError> {
        let first = self.next_number("VALUE")?;
        if self.next_sym(&Tok::Comma) {
            let count = self.next_number("VALUE")?;
            return Ok(Limit {
                offset: Some(first),
                count,
            });
        }
        Ok(Limit {
            offset: None,
            count: first,
        })
    }
}

fn token_text(query: &str, t: &Token<'_>) -> String {
    match &t.tok {
        Tok::Word(w) => w.to_string(),
        Tok::Str(s) => format!("'{}'", s.replace('\'', "''")),
        // Symbols are ASCII, one or two bytes long.
        sym => query[t.at..t.at + symbol_len(sym)].to_string(),
    }
}

fn symbol_len(t: &Tok<'_>) -> usize {
    match t {
        Tok::Ne | Tok::Le | Tok::Ge => 2,
        _ => 1,
    }
}

/// The grammar's name for a token, as vtiger's error messages use them.
fn token_name(t: &Tok<'_>) -> &'static str {
    match t {
        Tok::Word(w) => match w.to_ascii_lowercase().as_str() {
            "select" => "SELECT",
            "from" => "FRM",
            "where" => "WHERE",
            "and" => "LOGICAL_AND",
            "or" => "LOGICAL_OR",
            "in" => "IN",
            "like" => "LIKE",
            "order" => "ORDERBY",
            "asc" => "ASC",
            "desc" => "DESC",
            "limit" => "LIMIT",
            "count" => "COUNT",
            _ => "Unknown",
        },
        Tok::Str(_) => "VALUE",
        Tok::Comma => "COMMA",
        Tok::Open => "PARENOPEN",
        Tok::Close => "PARENCLOSE",
        Tok::Semicolon => "SEMICOLON",
        Tok::Star => "ASTERISK",
        Tok::Eq => "EQ",
        Tok::Ne => "NE",
        Tok::Lt => "LT",
        Tok::Gt => "GT",
        Tok::Le => "LTE",
        Tok::Ge => "GTE",
    }
}

/// `12x5`: digits, `x`, digits.
fn is_webservice_id(word: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    word.split_once('x')
        .is_some_and(|(prefix, object)| digits(prefix) && digits(object))
}
