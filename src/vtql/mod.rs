//! VTQL, vtiger's query language, parsed by hand (spec §8).
//!
//! ```text
//! query     := SELECT columns FROM name [WHERE or] [ORDER BY order] [LIMIT limit] ';'
//! columns   := '*' | COUNT '(' '*' ')' | name (',' name)*
//! or        := and (OR and)*
//! and       := primary (AND primary)*
//! primary   := NOT primary | '(' or ')' | predicate
//! predicate := name op value | name [NOT] IN '(' value (',' value)* ')'
//!            | name [NOT] LIKE value | name IS [NOT] NULL
//!            | name BETWEEN value AND value
//! op        := '=' | '!=' | '<>' | '<' | '>' | '<=' | '>='
//! value     := STRING | NUMBER
//! order     := name [ASC | DESC] (',' name [ASC | DESC])*
//! limit     := NUMBER [',' NUMBER]
//! ```
//!
//! Keywords are case-insensitive, names are not. `''` inside a string is a
//! quote. Parentheses, NOT, IS [NOT] NULL and BETWEEN are our additions
//! (vtiger's grammar has none of them); nesting is at most
//! [`parser::MAX_DEPTH`] deep. The parser checks syntax only.
pub mod ast;
pub mod lexer;
pub mod parser;
pub mod translate;

use crate::error::WsError;
pub use ast::Select;

/// The longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// A query that does not parse, with where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VtqlError {
    /// Byte offset of the offending token (the query's length at its end).
    pub at: usize,
    /// The client-facing text, in vtiger's format.
    pub message: String,
}

impl VtqlError {
    /// A syntax error at byte `at`.
    pub fn syntax(at: usize, message: String) -> Self {
        VtqlError { at, message }
    }
}

impl From<VtqlError> for WsError {
    fn from(e: VtqlError) -> Self {
        WsError::QuerySyntaxError(e.message)
    }
}

/// Parses one VTQL statement.
pub fn parse(query: &str) -> Result<Select, VtqlError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(VtqlError::syntax(
            MAX_QUERY_BYTES,
            format!("Syntax Error on line 1: the query is longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let tokens = lexer::tokenize(query).map_err(|e| {
        // vtiger answers these with INTERNAL_SERVER_ERROR; a position helps more.
        VtqlError::syntax(
            e.at,
            format!(
                "Syntax Error on line 1: {} at character {}",
                e.what,
                e.at + 1
            ),
        )
    })?;
    parser::Parser::new(query, tokens).parse_query()
}

#[cfg(test)]
mod tests {
    use super::ast::*;
    use super::*;

    #[test]
    fn parses_the_spec_examples() {
        let q = parse(
            "SELECT * FROM Contacts WHERE lastname LIKE 'Sm%' ORDER BY lastname LIMIT 0, 50;",
        )
        .unwrap();
        assert_eq!(q.columns, Columns::All);
        assert_eq!(q.module, "Contacts");
        assert_eq!(
            q.filter,
            Some(Expr::Compare(
                "lastname".into(),
                Op::Like,
                Literal::Text("Sm%".into())
            ))
        );
        assert_eq!(q.order, vec![("lastname".into(), None)]);
        assert_eq!(
            q.limit,
            Some(Limit {
                offset: Some(0),
                count: 50
            })
        );
        let q = parse("select count(*) from Leads where leadstatus in ('Hot','Warm');").unwrap();
        assert_eq!(q.columns, Columns::Count);
        assert_eq!(
            q.filter,
            Some(Expr::In(
                "leadstatus".into(),
                vec![Literal::Text("Hot".into()), Literal::Text("Warm".into())]
            ))
        );
        let q = parse("SELECT id,lastname FROM Contacts WHERE account_id = '11x42' AND employees > 10 OR x != 'y';").unwrap();
        assert_eq!(
            q.columns,
            Columns::List(vec!["id".into(), "lastname".into()])
        );
        assert!(
            matches!(q.filter, Some(Expr::Or(..))),
            "AND binds tighter than OR"
        );
        assert_eq!(
            parse("SELECT * FROM Accounts WHERE accountname='O''Brien';")
                .unwrap()
                .filter,
            Some(Expr::Compare(
                "accountname".into(),
                Op::Eq,
                Literal::Text("O'Brien".into())
            ))
        );
    }

    #[test]
    fn display_round_trips() {
        for q in [
            "SELECT * FROM Accounts;",
            "select accountname, employees from Accounts where employees >= 10 and (rating = 'Hot' or rating <> 'Cold') order by accountname desc, employees limit 5, 10;",
            "SELECT count(*) FROM Leads WHERE leadstatus IN ('Hot', 'It''s warm') LIMIT 3;",
            "SELECT id FROM Potentials WHERE amount < 12.5;",
            "SELECT id FROM Accounts WHERE NOT (a = 1) AND b NOT IN ('x') AND c NOT LIKE 'y%' AND d IS NULL AND e IS NOT NULL AND f BETWEEN 1 AND 2;",
        ] {
            let parsed = parse(q).unwrap();
            let canonical = parsed.to_string();
            assert_eq!(parse(&canonical).unwrap(), parsed, "{canonical}");
        }
    }

    #[test]
    fn errors_name_the_token_and_what_was_expected_as_vtiger_does() {
        // shared/golden seq 230 and 231.
        assert_eq!(
            parse("SELECT accountname FROM Accounts LIMIT 2").unwrap_err().message,
            "Syntax Error on line 1: token '2' Unexpected End of Input(0), expected one of: SEMICOLON"
        );
        assert_eq!(
            parse("SELEKT * FROM Accounts;").unwrap_err().message,
            "Syntax Error on line 1: token 'SELEKT' Unexpected Unknown(SELEKT), expected one of: SELECT"
        );
        let e = parse("SELECT * FROM Accounts WHERE accountname = 'open;").unwrap_err();
        assert_eq!(
            e.message,
            "Syntax Error on line 1: unterminated string at character 44"
        );
        assert_eq!(e.at, 43);
        assert!(parse("SELECT * FROM Accounts; extra")
            .unwrap_err()
            .message
            .contains("expected one of: End of Input"));
        assert!(parse("SELECT * FROM Accounts WHERE a = ;")
            .unwrap_err()
            .message
            .contains("Unexpected SEMICOLON(;), expected one of: VALUE"));
    }

    #[test]
    fn deep_nesting_and_long_queries_are_refused_without_a_crash() {
        let deep = format!(
            "SELECT * FROM A WHERE {}a = 1{};",
            "(".repeat(1000),
            ")".repeat(1000)
        );
        assert_eq!(parse(&deep).unwrap_err().message, "Parser stack overflow");
        let long = format!(
            "SELECT * FROM A WHERE a = '{}';",
            "x".repeat(MAX_QUERY_BYTES)
        );
        assert!(parse(&long).unwrap_err().message.contains("longer than"));
    }

    #[test]
    fn token_soup_never_panics() {
        // A small deterministic generator: every mix of the vocabulary parses or errs.
        let vocab = [
            "SELECT", "*", "count", "(", ")", "FROM", "Accounts", "WHERE", "a", "=", "!=", "<=",
            "'x'", "'", "12", "1.5", "AND", "OR", "IN", "LIKE", ",", "ORDER", "BY", "DESC",
            "LIMIT", ";", "ż", "#",
        ];
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..20_000 {
            let mut q = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..(seed % 16) {
                let r = seed.rotate_left((k * 7) as u32);
                q.push_str(vocab[(r % vocab.len() as u64) as usize]);
                q.push(' ');
            }
            let _ = parse(&q);
        }
    }
}
