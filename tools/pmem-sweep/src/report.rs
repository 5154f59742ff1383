//! Reading the JSON-lines report libpmem's fit mode writes (PMEM_FIT_REPORT;
//! the records are described in docs/modes.md). Each record is one flat
//! object of strings and unsigned numbers, which is all this parser reads.

use std::collections::HashMap;
use std::path::Path;

/// One record: its fields by name.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Record(HashMap<String, Value>);

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(u64),
}

impl Record {
    pub fn num(&self, key: &str) -> u64 {
        match self.0.get(key) {
            Some(Value::Num(n)) => *n,
            _ => 0,
        }
    }

    pub fn str(&self, key: &str) -> &str {
        match self.0.get(key) {
            Some(Value::Str(s)) => s,
            _ => "",
        }
    }

    pub fn is(&self, event: &str) -> bool {
        self.str("event") == event
    }
}

/// The records of a report file (none if it does not exist); lines that
/// do not parse (a process killed mid-write) are skipped.
pub fn read(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(parse)
        .collect()
}

/// The largest point count any process of the run reported, if any did.
pub fn points(records: &[Record]) -> Option<u64> {
    records
        .iter()
        .filter(|r| r.is("count"))
        .map(|r| r.num("points"))
        .max()
}

/// Parses one flat JSON object.
pub fn parse(line: &str) -> Option<Record> {
    let mut p = Parser(line.trim().as_bytes(), 0);
    p.expect(b'{')?;
    let mut rec = Record::default();
    loop {
        p.skip_ws();
        if p.peek()? == b'}' {
            return Some(rec);
        }
        let key = p.string()?;
        p.skip_ws();
        p.expect(b':')?;
        p.skip_ws();
        let value = if p.peek()? == b'"' {
            Value::Str(p.string()?)
        } else {
            Value::Num(p.number()?)
        };
        rec.0.insert(key, value);
        p.skip_ws();
        if p.peek()? == b',' {
            p.1 += 1;
        }
    }
}

struct Parser<'a>(&'a [u8], usize);

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.0.get(self.1).copied()
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.1 += 1)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.1 += 1;
        }
    }

    fn number(&mut self) -> Option<u64> {
        let start = self.1;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.1 += 1;
        }
        std::str::from_utf8(&self.0[start..self.1])
            .ok()?
            .parse()
            .ok()
    }

    fn string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.1 += 1;
            match b {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = self.peek()?;
                    self.1 += 1;
                    match e {
                        b'u' => {
                            let hex = std::str::from_utf8(self.0.get(self.1..self.1 + 4)?).ok()?;
                            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            self.1 += 4;
                            out.extend_from_slice(c.to_string().as_bytes());
                        }
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_library_records() {
        let r = parse(r#"{"event":"count","pid":12,"points":41                  }"#).unwrap();
        assert!(r.is("count"));
        assert_eq!((r.num("pid"), r.num("points")), (12, 41));
        let r = parse(r#"{"event":"crash","file":"a\"b\\c\u000a","n":0}"#).unwrap();
        assert_eq!(r.str("file"), "a\"b\\c\n");
        assert_eq!(r.num("missing"), 0);
        assert_eq!(parse(r#"{"event":"cra"#), None, "a line cut by a kill");
        assert_eq!(parse("garbage"), None);
        let recs = [
            r#"{"event":"count","points":3}"#,
            r#"{"event":"count","points":7}"#,
        ];
        let recs: Vec<_> = recs.iter().filter_map(|l| parse(l)).collect();
        assert_eq!(points(&recs), Some(7));
        assert_eq!(points(&[]), None);
    }
}
