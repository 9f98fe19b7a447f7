//! The parsed query. `Display` writes the canonical text, so that
//! `parse(q.to_string()) == q` (round-trip tests).
use std::fmt;

/// `SELECT … FROM … [WHERE …] [ORDER BY …] [LIMIT …];`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    /// What to return.
    pub columns: Columns,
    /// The module after FROM (case-sensitive, as in vtiger).
    pub module: String,
    /// The WHERE condition.
    pub filter: Option<Expr>,
    /// ORDER BY columns, each with its direction if given.
    pub order: Vec<(String, Option<Direction>)>,
    /// LIMIT [offset,] count.
    pub limit: Option<Limit>,
}

/// The select list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Columns {
    /// `*`
    All,
    /// `count(*)`
    Count,
    /// Named columns, in order.
    List(Vec<String>),
}

/// ORDER BY direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `ASC`
    Asc,
    /// `DESC`
    Desc,
}

/// `LIMIT count` or `LIMIT offset, count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Rows to return.
    pub count: u64,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Like,
}

/// A literal: quoted text or an unquoted number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// `'text'`
    Text(String),
    /// `42`, `12.5`
    Number(String),
}

/// A WHERE condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `a AND b`
    And(Box<Expr>, Box<Expr>),
    /// `a OR b`
    Or(Box<Expr>, Box<Expr>),
    /// `column op value`
    Compare(String, Op, Literal),
    /// `column IN (v, …)`
    In(String, Vec<Literal>),
    /// `NOT e` (our addition, with `NOT IN`, `NOT LIKE`).
    Not(Box<Expr>),
    /// `column IS NULL` (`true`) or `IS NOT NULL` (`false`); empty counts as
    /// null, since vtiger shows both as `""` (our addition).
    IsNull(String, bool),
    /// `column BETWEEN low AND high` (our addition).
    Between(String, Literal, Literal),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::Like => "LIKE",
        })
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Text(t) => write!(f, "'{}'", t.replace('\'', "''")),
            Literal::Number(n) => f.write_str(n),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(a, b) => write!(f, "({a} AND {b})"),
            Expr::Or(a, b) => write!(f, "({a} OR {b})"),
            Expr::Compare(c, op, v) => write!(f, "{c} {op} {v}"),
            Expr::In(c, values) => {
                let list: Vec<String> = values.iter().map(ToString::to_string).collect();
                write!(f, "{c} IN ({})", list.join(", "))
            }
            Expr::Not(e) => write!(f, "NOT ({e})"),
            Expr::IsNull(c, true) => write!(f, "{c} IS NULL"),
            Expr::IsNull(c, false) => write!(f, "{c} IS NOT NULL"),
            Expr::Between(c, lo, hi) => write!(f, "{c} BETWEEN {lo} AND {hi}"),
        }
    }
}

impl fmt::Display for Select {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let columns = match &self.columns {
            Columns::All => "*".to_string(),
            Columns::Count => "count(*)".to_string(),
            Columns::List(c) => c.join(", "),
        };
        write!(f, "SELECT {columns} FROM {}", self.module)?;
        if let Some(e) = &self.filter {
            write!(f, " WHERE {e}")?;
        }
        if !self.order.is_empty() {
            let items: Vec<String> = self
                .order
                .iter()
                .map(|(c, d)| match d {
                    Some(Direction::Asc) => format!("{c} ASC"),
                    Some(Direction::Desc) => format!("{c} DESC"),
                    None => c.clone(),
                })
                .collect();
            write!(f, " ORDER BY {}", items.join(", "))?;
        }
        if let Some(l) = &self.limit {
            match l.offset {
                Some(o) => write!(f, " LIMIT {o}, {}", l.count)?,
                None => write!(f, " LIMIT {}", l.count)?,
            }
        }
        f.write_str(";")
    }
}
