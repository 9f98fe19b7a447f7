//! VTQL tokens, each with its byte offset in the query. Words and strings
//! borrow the query's text (a string with `''` in it excepted): a token an
//! allocation was ~2k of a query's instructions (callgrind).
use std::borrow::Cow;

/// A token's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok<'q> {
    /// `[A-Za-z0-9_]+`, optionally with one `.` between digits (a decimal),
    /// or a signed number (`-5`, `+2.5`): names, keywords and unquoted numbers.
    Word(&'q str),
    /// A quoted string without its quotes; `''` inside stands for `'`.
    Str(Cow<'q, str>),
    /// `,`
    Comma,
    /// `(`
    Open,
    /// `)`
    Close,
    /// `;`
    Semicolon,
    /// `*`
    Star,
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'q> {
    /// What it is.
    pub tok: Tok<'q>,
    /// Byte offset in the query.
    pub at: usize,
}

/// A lexing failure: an unterminated string or a character VTQL lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// Byte offset of the offending character.
    pub at: usize,
    /// What went wrong.
    pub what: String,
}

/// Splits `query` into tokens.
pub fn tokenize(query: &str) -> Result<Vec<Token<'_>>, LexError> {
    let bytes = query.as_bytes();
    // Room for a short query's tokens without growing (`select * from M
    // where a = 'b';` is nine).
    let mut out = Vec::with_capacity(16);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let at = i;
        let single = |tok| Some((tok, 1));
        let sym = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b',' => single(Tok::Comma),
            b'(' => single(Tok::Open),
            b')' => single(Tok::Close),
            b';' => single(Tok::Semicolon),
            b'*' => single(Tok::Star),
            b'=' => single(Tok::Eq),
            b'!' if bytes.get(i + 1) == Some(&b'=') => Some((Tok::Ne, 2)),
            b'<' if bytes.get(i + 1) == Some(&b'=') => Some((Tok::Le, 2)),
            b'<' if bytes.get(i + 1) == Some(&b'>') => Some((Tok::Ne, 2)),
            b'<' => single(Tok::Lt),
            b'>' if bytes.get(i + 1) == Some(&b'=') => Some((Tok::Ge, 2)),
            b'>' => single(Tok::Gt),
            _ => None,
        };
        if let Some((tok, len)) = sym {
            out.push(Token { tok, at });
            i += len;
        } else if c == b'\'' {
            let (text, next) = string(query, i)?;
            out.push(Token {
                tok: Tok::Str(text),
                at,
            });
            i = next;
        } else if c.is_ascii_alphanumeric()
            || c == b'_'
            // vtiger's lexer reads `(\+|-)?\d+` as a value: a signed number.
            || ((c == b'-' || c == b'+') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let mut j = i + 1;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                j += 1;
            }
            // 12.50: a decimal number is one word.
            if j + 1 < bytes.len()
                && bytes[j] == b'.'
                && bytes[i..j]
                    .iter()
                    .enumerate()
                    .all(|(k, b)| b.is_ascii_digit() || (k == 0 && matches!(b, b'-' | b'+')))
                && bytes[j + 1].is_ascii_digit()
            {
                j += 1;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
            }
            out.push(Token {
                tok: Tok::Word(&query[i..j]),
                at,
            });
            i = j;
        } else {
            let ch = query[i..].chars().next().unwrap_or('?');
            return Err(LexError {
                at,
                what: format!("unexpected character '{ch}'"),
            });
        }
    }
    Ok(out)
}

/// Whether a word is a number: digits, a `.` between digits, a leading sign.
pub fn is_number(word: &str) -> bool {
    let digits = word.strip_prefix(['-', '+']).unwrap_or(word);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.as_bytes()[0].is_ascii_digit()
}

/// Reads a quoted string starting at `start`; returns it and the offset after it.
fn string(query: &str, start: usize) -> Result<(Cow<'_, str>, usize), LexError> {
    let bytes = query.as_bytes();
    let mut text = Cow::Borrowed("");
    let mut i = start + 1;
    let mut run = i;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            let piece = &query[run..i];
            if bytes.get(i + 1) == Some(&b'\'') {
                let owned = text.to_mut();
                owned.push_str(piece);
                owned.push('\'');
                i += 2;
                run = i;
                continue;
            }
            match &mut text {
                Cow::Owned(owned) => owned.push_str(piece),
                Cow::Borrowed(_) => text = Cow::Borrowed(piece),
            }
            return Ok((text, i + 1));
        }
        i += 1;
    }
    Err(LexError {
        at: start,
        what: "unterminated string".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(q: &str) -> Vec<Tok<'_>> {
        tokenize(q).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_strings_and_symbols() {
        assert_eq!(
            toks("select id,x FROM M where a>='O''Brien' and b<>12.5;"),
            vec![
                Tok::Word("select"),
                Tok::Word("id"),
                Tok::Comma,
                Tok::Word("x"),
                Tok::Word("FROM"),
                Tok::Word("M"),
                Tok::Word("where"),
                Tok::Word("a"),
                Tok::Ge,
                Tok::Str("O'Brien".into()),
                Tok::Word("and"),
                Tok::Word("b"),
                Tok::Ne,
                Tok::Word("12.5"),
                Tok::Semicolon,
            ]
        );
    }

    #[test]
    fn strings_borrow_the_query_unless_a_quote_is_doubled() {
        assert!(matches!(
            toks("'plain'")[0],
            Tok::Str(Cow::Borrowed("plain"))
        ));
        assert!(matches!(&toks("'it''s'")[0], Tok::Str(Cow::Owned(s)) if s == "it's"));
        assert!(matches!(&toks("'a'''")[0], Tok::Str(s) if s == "a'"));
        assert!(matches!(&toks("''")[0], Tok::Str(s) if s.is_empty()));
    }

    #[test]
    fn positions_and_errors() {
        let t = tokenize("a  'b'").unwrap();
        assert_eq!((t[0].at, t[1].at), (0, 3));
        assert_eq!(
            tokenize("a = 'open").unwrap_err(),
            LexError {
                at: 4,
                what: "unterminated string".into()
            }
        );
        assert_eq!(tokenize("a # b").unwrap_err().at, 2);
        assert_eq!(
            toks("'Zażółć' 'x'"),
            vec![Tok::Str("Zażółć".into()), Tok::Str("x".into())]
        );
    }
}
