//! Webservice ids: `<prefix>x<object id>`, e.g. `11x42`.
use std::fmt;

/// A parsed webservice id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WsId {
    /// The module's id prefix.
    pub prefix: u32,
    /// The object id inside that module (or the shared entity sequence).
    pub object: i64,
}

impl WsId {
    /// A webservice id from its parts.
    pub fn new(prefix: u32, object: i64) -> Self {
        WsId { prefix, object }
    }

    /// Parses `11x42`; anything else is `None` and the caller picks the error
    /// vtiger gives in its context.
    pub fn parse(text: &str) -> Option<Self> {
        let (prefix, object) = text.split_once('x')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(prefix) || !digits(object) {
            return None;
        }
        Some(WsId {
            prefix: prefix.parse().ok()?,
            object: object.parse().ok()?,
        })
    }
}

impl WsId {
    /// The id as clients see it, `11x42`. Every record on the wire carries
    /// a few (its own, its owner's, its creator's): through `Display`
    /// each was ~1.1k instructions, ~3.4k a record (callgrind); digits by
    /// `itoa` into a string sized once, ~150.
    pub fn to_wire(self) -> String {
        let mut out = String::with_capacity(24);
        self.push_onto(&mut out);
        out
    }

    /// Appends `11x42` to `out`: with pushes, not `write!`, whose
    /// formatting machinery was ~250 instructions an id, three or four ids
    /// a record (callgrind).
    pub fn push_onto(self, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(self.prefix));
        out.push('x');
        out.push_str(itoa::Buffer::new().format(self.object));
    }
}

impl fmt::Display for WsId {
    /// Writes the digits straight into the formatter: `format!`/`to_string`
    /// callers (error messages) need no intermediate `String`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(itoa::Buffer::new().format(self.prefix))?;
        f.write_str("x")?;
        f.write_str(itoa::Buffer::new().format(self.object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_round_trip() {
        let id = WsId::parse("11x42").unwrap();
        assert_eq!(id, WsId::new(11, 42));
        assert_eq!(id.to_string(), "11x42");
        assert_eq!(id.to_wire(), "11x42");
        let extremes = WsId::new(u32::MAX, i64::MAX);
        assert_eq!(extremes.to_wire(), format!("{}x{}", u32::MAX, i64::MAX));
        assert_eq!(WsId::new(19, 0).to_wire(), "19x0");
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "x",
            "11x",
            "x42",
            "11-42",
            "11x4x2",
            "ax1",
            "11x-1",
            "99999999999999999999x1",
        ] {
            assert_eq!(WsId::parse(bad), None, "{bad}");
        }
    }
}
