//! The protocol between fit mode and pmem-sweep, defined once: crash points
//! (`N`, `N.k`), crash-state strings (`none`, `only:0,3-5`, ...), the
//! report's JSON lines, and the seeded generator both sides draw from.
//!
//! A leaf module: it names nothing outside itself and `std`, so pmem-sweep
//! compiles this very file (`#[path]`) without linking the library.

use std::collections::HashMap;
use std::fmt;

/// SplitMix64: small and seedable; `random:SEED` states and pmem-sweep's
/// sampling both draw from it.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0); the modulo bias is negligible here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Where a crash happens: `PMEM_FIT_CRASH_AT=N` or `N.k` (point N from 1,
/// after k of its lines reached the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CrashAt {
    pub point: u64,
    pub tear: u64,
}

impl CrashAt {
    pub fn parse(s: &str) -> Option<CrashAt> {
        let s = s.trim();
        let (n, k) = s.split_once('.').unwrap_or((s, "0"));
        let point: u64 = n.parse().ok()?;
        (point > 0).then_some(CrashAt {
            point,
            tear: k.parse().ok()?,
        })
    }
}

impl fmt::Display for CrashAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tear {
            0 => write!(f, "{}", self.point),
            k => write!(f, "{}.{k}", self.point),
        }
    }
}

/// Which of a crash's candidate lines flip (`PMEM_FIT_CRASH_STATE`).
/// Candidates are numbered from 0: the lines flushed since the last drain
/// (a flip takes the line back to what the file held before that flush),
/// then the dirty lines, stored but never flushed (a flip writes the line's
/// current contents, as a cache eviction would), each group ordered by file
/// path and offset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flips {
    /// Nothing flipped: the flushed lines are in the file, the dirty ones not.
    None,
    All,
    /// The listed candidates (inclusive index ranges).
    Only(Vec<(u64, u64)>),
    /// Every candidate but the listed ones.
    AllBut(Vec<(u64, u64)>),
    /// Each candidate with probability 1/2, drawn from the seed.
    Random(u64),
}

/// What `Flips::parse` accepts, for messages.
pub const FLIPS_SYNTAX: &str = "none, all, only:LIST, all-but:LIST or random:SEED \
                                (LIST: indices and ranges I-J, comma-separated)";

impl Flips {
    /// Parses `none`, `all`, `only:LIST`, `all-but:LIST` or `random:SEED`.
    pub fn parse(s: &str) -> Option<Flips> {
        let list = |l: &str| -> Option<Vec<(u64, u64)>> {
            l.split(',')
                .map(|r| {
                    let (a, b) = r.split_once('-').unwrap_or((r, r));
                    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
                    (a <= b).then_some((a, b))
                })
                .collect()
        };
        match s.split_once(':') {
            None if s == "none" => Some(Flips::None),
            None if s == "all" => Some(Flips::All),
            Some(("only", l)) => list(l).map(Flips::Only),
            Some(("all-but", l)) => list(l).map(Flips::AllBut),
            Some(("random", seed)) => seed.parse().ok().map(Flips::Random),
            _ => None,
        }
    }

    /// Which of `n` candidates this flips.
    pub fn choose(&self, n: usize) -> Vec<bool> {
        let listed = |ranges: &[(u64, u64)], i: usize| {
            ranges.iter().any(|&(a, b)| (a..=b).contains(&(i as u64)))
        };
        let mut rng = SplitMix(match self {
            Flips::Random(seed) => *seed,
            _ => 0,
        });
        (0..n)
            .map(|i| match self {
                Flips::None => false,
                Flips::All => true,
                Flips::Only(r) => listed(r, i),
                Flips::AllBut(r) => !listed(r, i),
                Flips::Random(_) => rng.next_u64() & 1 == 1,
            })
            .collect()
    }
}

impl fmt::Display for Flips {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |r: &[(u64, u64)]| {
            r.iter()
                .map(|&(a, b)| match a == b {
                    true => a.to_string(),
                    false => format!("{a}-{b}"),
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Flips::None => f.write_str("none"),
            Flips::All => f.write_str("all"),
            Flips::Only(r) => write!(f, "only:{}", list(r)),
            Flips::AllBut(r) => write!(f, "all-but:{}", list(r)),
            Flips::Random(s) => write!(f, "random:{s}"),
        }
    }
}

/// `s` as a JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One line flipped at a crash: `PATH+OFFSET:new` (a dirty line written)
/// or `:old` (a flushed line taken back).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Flipped {
    pub path: String,
    pub offset: u64,
    pub written: bool,
}

impl fmt::Display for Flipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let to = if self.written { "new" } else { "old" };
        write!(f, "{}+{}:{to}", self.path, self.offset)
    }
}

impl Flipped {
    pub fn parse(s: &str) -> Option<Flipped> {
        let (line, to) = s.rsplit_once(':')?;
        let (path, offset) = line.rsplit_once('+')?;
        Some(Flipped {
            path: path.to_string(),
            offset: offset.parse().ok()?,
            written: match to {
                "new" => true,
                "old" => false,
                _ => return None,
            },
        })
    }
}

/// The `crash` record: written by the crashing process just before it dies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashRecord {
    pub pid: u64,
    pub point: u64,
    /// Lines of the point written before dying.
    pub tear: u64,
    /// Lines the point changes.
    pub lines: u64,
    pub unfenced: u64,
    pub dirty: u64,
    pub state: String,
    /// At most [`CrashRecord::MAX_FLIPPED`] of them.
    pub flipped: Vec<Flipped>,
}

impl CrashRecord {
    pub const MAX_FLIPPED: usize = 32;

    pub fn to_json(&self) -> String {
        let flipped: Vec<String> = self.flipped.iter().map(Flipped::to_string).collect();
        format!(
            "{{\"event\":\"crash\",\"pid\":{},\"point\":{},\"tear\":{},\"lines\":{},\
             \"candidates\":{},\"unfenced\":{},\"dirty\":{},\"state\":{},\"flipped\":{}}}",
            self.pid,
            self.point,
            self.tear,
            self.lines,
            self.unfenced + self.dirty,
            self.unfenced,
            self.dirty,
            json_str(&self.state),
            json_str(&flipped.join("\n")),
        )
    }

    pub fn from_record(r: &Record) -> Option<CrashRecord> {
        r.is("crash").then(|| CrashRecord {
            pid: r.num("pid"),
            point: r.num("point"),
            tear: r.num("tear"),
            lines: r.num("lines"),
            unfenced: r.num("unfenced"),
            dirty: r.num("dirty"),
            state: r.str("state").to_string(),
            flipped: r
                .str("flipped")
                .lines()
                .filter_map(Flipped::parse)
                .collect(),
        })
    }
}

/// `PMEM_FIT_CRASH_STATES=FILE`: with `PMEM_FIT_CRASH_IMAGES=DIR`, the
/// crashing process also writes, for the state on line i of FILE (a
/// [`Flips`] each), the lines that state flips to `DIR/i` as a patch of the
/// image it leaves itself (its own state, usually `none`): one run of the
/// program yields every state of its point.
pub const CRASH_STATES_VAR: &str = "PMEM_FIT_CRASH_STATES";
pub const CRASH_IMAGES_VAR: &str = "PMEM_FIT_CRASH_IMAGES";
/// The file, in the images directory, where a crash asked to expand its
/// point's states (`strategy::Expansion`) lists them, one a line.
pub const EXPANDED_LIST: &str = "list";

/// One line of a `PMEM_FIT_CRASH_STATES` file: a state of the crash point,
/// flips at its start or a tear of its flush (`tear:K`: its first K lines
/// written, as `PMEM_FIT_CRASH_AT=N.K` would leave them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSpec {
    Flips(Flips),
    Tear(u64),
}

impl ImageSpec {
    pub fn parse(s: &str) -> Option<ImageSpec> {
        match s.strip_prefix("tear:") {
            Some(k) => k.parse().ok().map(ImageSpec::Tear),
            None => Flips::parse(s).map(ImageSpec::Flips),
        }
    }
}

impl fmt::Display for ImageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageSpec::Flips(flips) => flips.fmt(f),
            ImageSpec::Tear(k) => write!(f, "tear:{k}"),
        }
    }
}

/// One line of a crash-image patch: the bytes a state puts at `offset` of
/// the file at `path`, and whether they take back a flush (`flushed`) or
/// write a dirty line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchLine {
    pub path: String,
    pub offset: u64,
    pub flushed: bool,
    pub bytes: Vec<u8>,
}

impl PatchLine {
    /// Appends the line's encoding to `out`: path length (u32 LE), path,
    /// offset (u64 LE), flushed (u8), length (u32 LE), bytes.
    pub fn encode(path: &str, offset: u64, flushed: bool, bytes: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&(path.len() as u32).to_le_bytes());
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.push(flushed as u8);
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    }

    /// Decodes a whole patch; None if it is cut short or malformed.
    pub fn decode_all(mut data: &[u8]) -> Option<Vec<PatchLine>> {
        fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            let (head, rest) = (data.get(..n)?, data.get(n..)?);
            *data = rest;
            Some(head)
        }
        let u32_at = |d: &mut &[u8]| Some(u32::from_le_bytes(take(d, 4)?.try_into().ok()?));
        let mut out = Vec::new();
        while !data.is_empty() {
            let n = u32_at(&mut data)? as usize;
            let path = String::from_utf8(take(&mut data, n)?.to_vec()).ok()?;
            let offset = u64::from_le_bytes(take(&mut data, 8)?.try_into().ok()?);
            let flushed = match take(&mut data, 1)?[0] {
                0 => false,
                1 => true,
                _ => return None,
            };
            let len = u32_at(&mut data)? as usize;
            let bytes = take(&mut data, len)?.to_vec();
            out.push(PatchLine {
                path,
                offset,
                flushed,
                bytes,
            });
        }
        Some(out)
    }
}

/// One report line read back: a flat object of strings and unsigned numbers.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Record(HashMap<String, Value>);

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(u64),
}

impl Record {
    /// The number `key` holds (0 if absent or a string).
    pub fn num(&self, key: &str) -> u64 {
        match self.0.get(key) {
            Some(Value::Num(n)) => *n,
            _ => 0,
        }
    }

    /// The string `key` holds ("" if absent or a number).
    pub fn str(&self, key: &str) -> &str {
        match self.0.get(key) {
            Some(Value::Str(s)) => s,
            _ => "",
        }
    }

    pub fn is(&self, event: &str) -> bool {
        self.str("event") == event
    }

    /// Parses one line; None for anything else (a line cut by a kill).
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
    fn crash_points_parse_and_print() {
        let at = |point, tear| Some(CrashAt { point, tear });
        assert_eq!(CrashAt::parse("7"), at(7, 0));
        assert_eq!(CrashAt::parse(" 7.3 "), at(7, 3));
        for bad in ["0", "7.", "x", "", "0.1"] {
            assert_eq!(CrashAt::parse(bad), None, "{bad:?}");
        }
        assert_eq!(CrashAt::parse("7.3").unwrap().to_string(), "7.3");
        assert_eq!(CrashAt::parse("7").unwrap().to_string(), "7");
    }

    #[test]
    fn states_parse_and_print_as_they_parse() {
        assert_eq!(Flips::parse("none"), Some(Flips::None));
        assert_eq!(
            Flips::parse("only:1,3-4"),
            Some(Flips::Only(vec![(1, 1), (3, 4)]))
        );
        assert_eq!(Flips::parse("all-but:2"), Some(Flips::AllBut(vec![(2, 2)])));
        assert_eq!(Flips::parse("random:9"), Some(Flips::Random(9)));
        for bad in ["", "only:", "only:4-3", "some", "random:x", "all-but:a"] {
            assert_eq!(Flips::parse(bad), None, "{bad:?}");
        }
        for s in ["none", "all", "only:1,3-4", "all-but:0", "random:77"] {
            assert_eq!(Flips::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn flips_choose_the_right_candidates() {
        assert_eq!(Flips::None.choose(3), [false; 3]);
        assert_eq!(Flips::All.choose(2), [true; 2]);
        let only = Flips::parse("only:0,2-3").unwrap();
        assert_eq!(only.choose(5), [true, false, true, true, false]);
        let but = Flips::parse("all-but:1").unwrap();
        assert_eq!(but.choose(3), [true, false, true]);
        let r = Flips::Random(5).choose(64);
        assert_eq!(r, Flips::Random(5).choose(64), "reproducible");
        assert!(r.iter().any(|&b| b) && r.iter().any(|&b| !b));
    }

    /// The generator's first outputs are fixed: both sides of the protocol
    /// must draw the same `random:SEED` subsets.
    #[test]
    fn splitmix_is_the_published_sequence() {
        let mut g = SplitMix(1234567);
        assert_eq!(g.next_u64(), 6457827717110365317);
        assert_eq!(g.next_u64(), 3203168211198807973);
        assert!((0..100).all(|_| g.below(7) < 7));
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn records_parse() {
        let r =
            Record::parse(r#"{"event":"count","pid":12,"points":41                  }"#).unwrap();
        assert!(r.is("count"));
        assert_eq!((r.num("pid"), r.num("points")), (12, 41));
        let r = Record::parse(r#"{"event":"crash","file":"a\"b\\c\u000a","n":0}"#).unwrap();
        assert_eq!(r.str("file"), "a\"b\\c\n");
        assert_eq!(r.num("missing"), 0);
        assert_eq!(
            Record::parse(r#"{"event":"cra"#),
            None,
            "a line cut by a kill"
        );
        assert_eq!(Record::parse("garbage"), None);
    }

    #[test]
    fn image_specs_parse_and_print() {
        for s in ["tear:3", "only:1,4-5", "none"] {
            assert_eq!(ImageSpec::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(ImageSpec::parse("tear:2"), Some(ImageSpec::Tear(2)));
        assert_eq!(ImageSpec::parse("tear:"), None);
        assert_eq!(ImageSpec::parse("teardown"), None);
    }

    #[test]
    fn patches_round_trip_and_refuse_cut_ones() {
        let mut data = Vec::new();
        PatchLine::encode("/j/pool", 64, false, &[7; 64], &mut data);
        PatchLine::encode("/j/b", 4096, true, &[1, 2, 3], &mut data);
        let lines = PatchLine::decode_all(&data).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[1],
            PatchLine {
                path: "/j/b".into(),
                offset: 4096,
                flushed: true,
                bytes: vec![1, 2, 3]
            }
        );
        assert_eq!(lines[0].bytes, [7; 64]);
        assert_eq!(PatchLine::decode_all(&data[..data.len() - 1]), None);
        assert_eq!(PatchLine::decode_all(&[]), Some(vec![]));
    }

    #[test]
    fn crash_records_round_trip() {
        let c = CrashRecord {
            pid: 9,
            point: 4,
            tear: 1,
            lines: 2,
            unfenced: 1,
            dirty: 3,
            state: "only:0,2".into(),
            flipped: vec![
                Flipped {
                    path: "/d/po:ol".into(),
                    offset: 64,
                    written: false,
                },
                Flipped {
                    path: "/d/pool".into(),
                    offset: 128,
                    written: true,
                },
            ],
        };
        let line = c.to_json();
        assert!(line.contains(r#""candidates":4,"#));
        assert!(line.contains(r#""flipped":"/d/po:ol+64:old\u000a/d/pool+128:new""#));
        let back = CrashRecord::from_record(&Record::parse(&line).unwrap());
        assert_eq!(back, Some(c));
        let count = Record::parse(r#"{"event":"count","points":3}"#).unwrap();
        assert_eq!(CrashRecord::from_record(&count), None);
    }
}
