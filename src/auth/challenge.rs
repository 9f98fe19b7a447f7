//! getchallenge tokens and the login digest `md5(token + accessKey)`.
use md5::{Digest, Md5};
use rand::Rng;

/// How long a challenge token stays valid, in seconds (vtiger: 5 minutes).
pub const TOKEN_LIFETIME_SECS: i64 = 300;

/// A new token: 13 lowercase hex characters like PHP's `uniqid()`, which
/// clients may show or log, but random where vtiger's is a timestamp.
pub fn new_token() -> String {
    let n: u64 = rand::thread_rng().gen_range(0..(1u64 << 52));
    format!("{n:013x}")
}

/// The digest a client must send: lowercase hex md5 of token + access key.
pub fn expected_digest(token: &str, access_key: &str) -> String {
    md5_hex(&format!("{token}{access_key}"))
}

/// Lowercase hex md5 of `text`.
pub fn md5_hex(text: &str) -> String {
    let mut hasher = Md5::new();
    hasher.update(text.as_bytes());
    // Every request hashes its session name: a string a byte cost more
    // than the digest itself (callgrind).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for b in hasher.finalize() {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

/// Compares in time that does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_the_recorded_vtiger_login() {
        // shared/golden seq 12-13: token 6b02eb610551c, key 2bTovVTxUuB1M6V2.
        assert_eq!(
            expected_digest("6b02eb610551c", "2bTovVTxUuB1M6V2"),
            "c6a0ba570bf437c6cd8cffe950f9d3cd"
        );
    }

    #[test]
    fn tokens_are_13_lowercase_hex_characters() {
        for _ in 0..100 {
            let t = new_token();
            assert_eq!(t.len(), 13);
            assert!(
                t.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{t}"
            );
        }
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
