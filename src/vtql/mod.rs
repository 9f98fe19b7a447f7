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

    /// A small deterministic generator of token soups over VTQL's whole
    /// vocabulary; half of them start as a valid query would.
    pub(crate) fn token_soups(count: usize) -> Vec<String> {
        let vocab = [
            "SELECT",
            "*",
            "count",
            "(",
            ")",
            "FROM",
            "Accounts",
            "WHERE",
            "accountname",
            "id",
            "employees",
            "=",
            "!=",
            "<>",
            "<",
            ">=",
            "'x'",
            "'",
            "''",
            "'11x1'",
            "12",
            "-3",
            "1.5",
            "AND",
            "OR",
            "NOT",
            "IN",
            "LIKE",
            "IS",
            "NULL",
            "BETWEEN",
            ",",
            "ORDER",
            "BY",
            "ASC",
            "DESC",
            "LIMIT",
            ";",
            "ż",
            "#",
            "\"",
            "-",
            ".",
        ];
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        let mut out = Vec::with_capacity(count);
        for n in 0..count {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut q = String::new();
            if n % 2 == 0 {
                q.push_str("SELECT * FROM Accounts WHERE ");
            }
            for k in 0..(seed % 16) {
                let r = seed.rotate_left((k * 7) as u32);
                q.push_str(vocab[(r % vocab.len() as u64) as usize]);
                q.push(' ');
            }
            if n % 3 == 0 {
                q.push(';');
            }
            out.push(q);
        }
        out
    }

    #[test]
    fn token_soups_never_panic() {
        for q in token_soups(50_000) {
            let _ = parse(&q);
        }
    }

    /// A xorshift generator, so the random queries are the same every run.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len() as u64) as usize]
        }
    }

    /// A random condition of at most `depth` levels, written as a user might.
    fn random_condition(rng: &mut Rng, depth: u32) -> String {
        let column = rng.pick(&["accountname", "employees", "id", "industry"]);
        let value = rng.pick(&["'x'", "''", "'It''s'", "12", "-3", "1.5", "'11x4'"]);
        let choice = if depth == 0 {
            rng.below(7)
        } else {
            rng.below(10)
        };
        match choice {
            0 => format!(
                "{column} {} {value}",
                rng.pick(&["=", "!=", "<>", "<", ">", "<=", ">="])
            ),
            1 => format!("{column} {}LIKE {value}", rng.pick(&["", "NOT "])),
            2 => format!("{column} {}IN ({value}, {value})", rng.pick(&["", "not "])),
            3 => format!("{column} IS {}NULL", rng.pick(&["", "NOT "])),
            4 => format!("{column} BETWEEN {value} AND {value}"),
            5 | 6 => format!("{column} = {value}"),
            7 => format!("NOT {}", random_condition(rng, depth - 1)),
            8 => format!("({})", random_condition(rng, depth - 1)),
            _ => format!(
                "{} {} {}",
                random_condition(rng, depth - 1),
                rng.pick(&["AND", "or"]),
                random_condition(rng, depth - 1)
            ),
        }
    }

    fn random_query(rng: &mut Rng) -> String {
        let mut q = format!(
            "select {} from Accounts",
            rng.pick(&["*", "count(*)", "accountname", "accountname, employees"])
        );
        if rng.below(4) > 0 {
            q += &format!(" where {}", random_condition(rng, 4));
        }
        if rng.below(2) == 0 {
            q += &format!(
                " order by employees {}, accountname",
                rng.pick(&["", "asc", "DESC"])
            );
        }
        match rng.below(3) {
            0 => q += &format!(" limit {}", rng.below(500)),
            1 => q += &format!(" limit {}, {}", rng.below(500), rng.below(500)),
            _ => {}
        }
        q + ";"
    }

    #[test]
    fn random_queries_parse_and_round_trip_through_display() {
        let mut rng = Rng(0x2545f4914f6cdd1d);
        for _ in 0..5_000 {
            let q = random_query(&mut rng);
            let select = parse(&q).unwrap_or_else(|e| panic!("{q}: {}", e.message));
            let canonical = select.to_string();
            assert_eq!(parse(&canonical).as_ref(), Ok(&select), "{q} → {canonical}");
        }
    }
}
