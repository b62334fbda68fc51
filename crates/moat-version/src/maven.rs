//! Maven versions, ordered as Maven's `ComparableVersion` (maven-artifact 3.8.6, the version
//! that produced the conformance vectors) orders them, made a total order.
//!
//! Written by hand: no maintained crate implements `ComparableVersion`, and its rules are
//! short. Reading is the same algorithm, in Rust types:
//!
//! - The lowercased text is cut into items at `.`, at `-`, and where digits change to other
//!   characters or back. Digit runs are numbers (any length); the rest are qualifiers. An
//!   empty item (`1..2`, a leading `-`) is the number 0.
//! - A `-`, and a change between digits and letters, opens a sub-list: `1-2.a3` is
//!   `[1, [2, alpha, [3]]]`, so a hyphen is less important than a dot.
//! - Each list drops its trailing "null" items (0, the empty qualifier, empty lists), also
//!   those before a last sub-list: `1.0-1` is `[1, [1]]`, `1.0.0` is `[1]`, `1-ga` is `[1]`.
//! - Qualifiers: `alpha < beta < milestone < rc < snapshot < "" < sp`, then unknown qualifiers
//!   in text order. `a`, `b` and `m` directly followed by a digit are `alpha`, `beta` and
//!   `milestone`; `cr` is `rc`; `ga`, `final` and `release` are `""`.
//! - Digits are ASCII digits (Java's `Character.isDigit` also takes other scripts' digits).
//!
//! Comparing walks two lists item by item. Where one list has ended, the other's next item
//! decides by how it stands against "nothing": a positive number or a qualifier above `""`
//! is above, a pre-release qualifier below, a list as its first non-null item (`1-rc < 1 <
//! 1.1`, `1 < 1-sp`, `1-0.1 > 1`); null items let the item after them decide (`1.0.1 > 1`).
//! Where both have an item, Maven ranks them by kind first, number above list above qualifier
//! (`1.1 > 1-1 > 1-sp`). The two rules together are not transitive in Maven
//! (`2 < 2-1 < 2.0.rc < 2`, `1.foo < 1-rc < 1 < 1.foo`), which would let a sort panic, so
//! here each item is placed on one scale, and the kind order applies only between items on
//! the same side of "nothing":
//!
//! pre-release qualifiers < `""` before something lower < lists below nothing
//! < 0 before something lower < (nothing) < `""` before something higher < `sp` and unknown
//! qualifiers < lists above nothing < 0 before something higher < positive numbers.
//!
//! Maven and this `Ord` differ only where Maven's answer is part of such a cycle (here
//! `2.0.rc < 2-1` and `1-rc < 1.foo`). [`compare`], which decides one pair (range checks, the
//! conformance vectors), gives Maven's own answer ([`Version::maven_order`]); three of the
//! vectors, which Maven sorted with its cyclic order, need it (`2.9.0-1 < 2.9.0.RC1`, while
//! `2.9.0.RC1 < 2.9.0.RC3 < 2.9.0 < 2.9.0-1`).
//!
//! Two further choices: maven-artifact 3.8.7 and later read a qualifier after a dot as if
//! after a hyphen (MNG-7644: `1.0.0.RC8-beta > 1.0.0-RC16`), which 18 of the vectors
//! contradict, so it is not done here; and a sub-list holding only a sub-list is unwrapped,
//! as Maven's documentation has it (see [`unwrap_single_list`]). With MNG-7644 added, the
//! unwrapping and the single scale removed, this reading and comparing agrees with
//! maven-artifact 3.8.7 on 50,000 random pairs.

use crate::{Ecosystem, Number, VersionError};
use std::cmp::Ordering;
use std::str::FromStr;

/// Sub-lists nest once per `-` or digit-letter change; real versions use a handful. Deeper
/// text is refused, so that recursion over the nesting stays shallow.
const MAX_DEPTH: usize = 256;

/// A parsed Maven version. Equality is the ordering's (`1.0 = 1 = 1-ga`);
/// [`fmt::Display`] gives the text it was parsed from.
#[derive(Debug, Clone)]
pub struct Version {
    original: String,
    canonical: String,
    key: Vec<Key>,
    /// The parsed items, for Maven's own pairwise comparison.
    items: Vec<Item>,
}

/// One item of a version as read: `ComparableVersion`'s `IntItem`, `StringItem` or
/// `ListItem`.
#[derive(Debug, Clone)]
enum Item {
    Number(Number),
    Qualifier(Qualifier),
    List(Vec<Item>),
}

/// A qualifier, by its place in the qualifier order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Qualifier {
    Alpha,
    Beta,
    Milestone,
    Rc,
    Snapshot,
    /// The empty qualifier: a release (`ga`, `final`, `release`).
    Release,
    Sp,
    /// Any other qualifier, in Java's string order (UTF-16 code units).
    Other(Utf16Text),
}

/// Text that orders as Java's `String.compareTo` does.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Utf16Text(String);

impl Ord for Utf16Text {
    fn cmp(&self, other: &Utf16Text) -> Ordering {
        self.0.encode_utf16().cmp(other.0.encode_utf16())
    }
}

impl PartialOrd for Utf16Text {
    fn partial_cmp(&self, other: &Utf16Text) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Qualifier {
    /// The qualifier for the (lowercase) text `word`; `followed_by_digit` turns the one-letter
    /// forms `a`, `b` and `m` into `alpha`, `beta` and `milestone`.
    fn new(word: &str, followed_by_digit: bool) -> Qualifier {
        match word {
            "alpha" => Qualifier::Alpha,
            "a" if followed_by_digit => Qualifier::Alpha,
            "beta" => Qualifier::Beta,
            "b" if followed_by_digit => Qualifier::Beta,
            "milestone" => Qualifier::Milestone,
            "m" if followed_by_digit => Qualifier::Milestone,
            "rc" | "cr" => Qualifier::Rc,
            "snapshot" => Qualifier::Snapshot,
            "" | "ga" | "final" | "release" => Qualifier::Release,
            "sp" => Qualifier::Sp,
            other => Qualifier::Other(Utf16Text(other.to_string())),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Qualifier::Alpha => "alpha",
            Qualifier::Beta => "beta",
            Qualifier::Milestone => "milestone",
            Qualifier::Rc => "rc",
            Qualifier::Snapshot => "snapshot",
            Qualifier::Release => "",
            Qualifier::Sp => "sp",
            Qualifier::Other(text) => &text.0,
        }
    }
}

impl Item {
    /// True for the items that trailing positions drop and a missing item equals.
    fn is_null(&self) -> bool {
        match self {
            Item::Number(n) => *n == Number::default(),
            Item::Qualifier(q) => *q == Qualifier::Release,
            Item::List(items) => items.is_empty(),
        }
    }

    /// How this item stands against a missing one (`ComparableVersion`'s `compareTo(null)`).
    fn cmp_missing(&self) -> Ordering {
        match self {
            Item::Number(_) if self.is_null() => Ordering::Equal,
            Item::Number(_) => Ordering::Greater,
            Item::Qualifier(q) => q.cmp(&Qualifier::Release),
            // The first item that is not null decides (`1-0.1 > 1`).
            Item::List(items) => first_decisive(items),
        }
    }
}

/// How the first non-null item of `items` stands against a missing one.
fn first_decisive(items: &[Item]) -> Ordering {
    items
        .iter()
        .map(Item::cmp_missing)
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// One item placed on the single scale of the module documentation; the variants are in
/// ascending order. A version's key is its items' keys followed by [`Key::End`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    /// `alpha`, `beta`, `milestone`, `rc`, `snapshot`.
    PreRelease(Qualifier),
    /// `""` (`ga`, `final`) followed by something below nothing (`1.ga.rc`).
    ReleaseBeforeLower,
    /// A sub-list below nothing (`-rc1`).
    ListBelow(Vec<Key>),
    /// 0 followed by something below nothing (`1.0.rc`).
    ZeroBeforeLower,
    /// The end of a list.
    End,
    /// `""` followed by something above nothing (`1.ga.1`).
    ReleaseBeforeHigher,
    /// `sp` and unknown qualifiers.
    PostRelease(Qualifier),
    /// A sub-list above nothing (`-1`, `-sp`).
    ListAbove(Vec<Key>),
    /// 0 followed by something above nothing (`1.0.1`).
    ZeroBeforeHigher,
    /// A number above 0.
    Number(Number),
}

/// The key of a normalized list. A null item can only be followed, in its list, by a
/// non-null one (normalizing drops trailing nulls), which decides where it stands.
fn key(items: &[Item]) -> Vec<Key> {
    let mut keys = Vec::with_capacity(items.len() + 1);
    keys.push(Key::End);
    // Right to left, knowing how the first non-null item after each one stands.
    let mut after = Ordering::Equal;
    for item in items.iter().rev() {
        let higher = after == Ordering::Greater;
        keys.push(match item {
            Item::Number(n) if *n != Number::default() => Key::Number(n.clone()),
            Item::Number(_) if higher => Key::ZeroBeforeHigher,
            Item::Number(_) => Key::ZeroBeforeLower,
            Item::Qualifier(Qualifier::Release) if higher => Key::ReleaseBeforeHigher,
            Item::Qualifier(Qualifier::Release) => Key::ReleaseBeforeLower,
            Item::Qualifier(q) if *q < Qualifier::Release => Key::PreRelease(q.clone()),
            Item::Qualifier(q) => Key::PostRelease(q.clone()),
            Item::List(inner) if first_decisive(inner) == Ordering::Greater => Key::ListAbove(key(inner)),
            Item::List(inner) => Key::ListBelow(key(inner)),
        });
        after = match item.cmp_missing() {
            Ordering::Equal => after,
            decisive => decisive,
        };
    }
    keys.reverse();
    keys
}

/// Drops trailing null items, looking past (non-null) sub-lists: `ListItem.normalize`.
fn normalize(items: &mut Vec<Item>) {
    let mut i = items.len();
    while i > 0 {
        i -= 1;
        if items[i].is_null() {
            items.remove(i);
        } else if !matches!(items[i], Item::List(_)) {
            break;
        }
    }
}

/// The text between two separators or transitions, as an item.
fn parse_item(is_digit: bool, text: &str) -> Item {
    if is_digit {
        Item::Number(Number::from_digits(text))
    } else {
        Item::Qualifier(Qualifier::new(text, false))
    }
}

/// The open lists while reading: each list only ever grows at its end and its sub-list,
/// once opened, is its last item, so the nesting is a stack folded up at the end.
struct Lists(Vec<Vec<Item>>);

impl Lists {
    fn push_item(&mut self, item: Item) {
        if let Some(current) = self.0.last_mut() {
            current.push(item);
        }
    }

    fn open(&mut self) -> Result<(), String> {
        if self.0.len() > MAX_DEPTH {
            return Err(format!("more than {MAX_DEPTH} nested parts"));
        }
        self.0.push(Vec::new());
        Ok(())
    }
}

/// `ComparableVersion.parseVersion`.
fn parse_items(text: &str) -> Result<Vec<Item>, String> {
    let lower = text.to_lowercase();
    let mut lists = Lists(vec![Vec::new()]);
    let mut is_digit = false;
    let mut start = 0;
    for (i, c) in lower.char_indices() {
        if c == '.' || c == '-' {
            lists.push_item(if i == start {
                Item::Number(Number::default())
            } else {
                parse_item(is_digit, &lower[start..i])
            });
            start = i + c.len_utf8();
            if c == '-' {
                lists.open()?;
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                lists.push_item(Item::Qualifier(Qualifier::new(&lower[start..i], true)));
                start = i;
                lists.open()?;
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                lists.push_item(parse_item(true, &lower[start..i]));
                start = i;
                lists.open()?;
            }
            is_digit = false;
        }
    }
    if lower.len() > start {
        lists.push_item(parse_item(is_digit, &lower[start..]));
    }
    Ok(fold(lists.0))
}

/// Normalizes the innermost list, appends it to its parent, and so on up to the top list.
fn fold(mut stack: Vec<Vec<Item>>) -> Vec<Item> {
    let mut inner = stack.pop().unwrap_or_default();
    normalize(&mut inner);
    while let Some(mut parent) = stack.pop() {
        parent.push(Item::List(unwrap_single_list(inner)));
        normalize(&mut parent);
        inner = parent;
    }
    inner
}

/// A sub-list left holding nothing but its own sub-list, once its null items are gone, stands
/// for that sub-list: `1-ga-1` is `[1, [1]]`, as `1-1` is. Maven's documentation says so
/// ("trailing null values at each hyphen": `1-sp-1 < 1-ga-1 = 1-1`), and so do OSV and the
/// conformance vectors, while `ComparableVersion` 3.8 keeps `[1, [[1]]]` and puts `1-ga-1`
/// below `1-1`. This is the one place where this module follows the documented order rather
/// than the code; it changes none of the orderings Maven itself produced in the vectors.
fn unwrap_single_list(mut items: Vec<Item>) -> Vec<Item> {
    if let [Item::List(_)] = items.as_slice() {
        if let Some(Item::List(only)) = items.pop() {
            return only;
        }
    }
    items
}

/// `ListItem.toString()`: dots between items, a hyphen before a sub-list.
fn write_canonical(items: &[Item], out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(if matches!(item, Item::List(_)) { '-' } else { '.' });
        }
        match item {
            Item::Number(n) => out.push_str(if n.0.is_empty() { "0" } else { &n.0 }),
            Item::Qualifier(q) => out.push_str(q.as_str()),
            Item::List(inner) => write_canonical(inner, out),
        }
    }
}

impl FromStr for Version {
    type Err = VersionError;

    /// Every non-empty text is a Maven version, unless it nests parts more than 256 deep;
    /// surrounding whitespace is ignored.
    fn from_str(text: &str) -> Result<Version, VersionError> {
        let invalid = |reason: String| VersionError::invalid(Ecosystem::Maven, text, reason);
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(invalid("the version is empty".into()));
        }
        let items = parse_items(trimmed).map_err(invalid)?;
        let mut canonical = String::new();
        write_canonical(&items, &mut canonical);
        Ok(Version {
            original: text.to_string(),
            canonical,
            key: key(&items),
            items,
        })
    }
}

impl Version {
    /// The canonical form, as `ComparableVersion.getCanonical()` prints it: `1.0-ga` is `1`,
    /// `1.0a1` is `1-alpha-1`.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.key.cmp(&other.key)
    }
}

crate::equality_from_ord!(Version);

crate::displayed_as_original!(Version);

impl Version {
    /// Maven's own answer for this pair: `ComparableVersion.compareTo`, item by item, kinds
    /// ranked number above list above qualifier. Not transitive (see the module
    /// documentation), so it is for deciding one pair, as range checks and the conformance
    /// vectors do; sorting uses `Ord`.
    pub fn maven_order(&self, other: &Version) -> Ordering {
        compare_lists(&self.items, &other.items)
    }
}

fn compare_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let ordering = match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => compare_item(x, y),
            (Some(x), None) => x.cmp_missing(),
            (None, Some(y)) => y.cmp_missing().reverse(),
            (None, None) => Ordering::Equal,
        };
        if ordering.is_ne() {
            return ordering;
        }
    }
    Ordering::Equal
}

fn compare_item(a: &Item, b: &Item) -> Ordering {
    let rank = |item: &Item| match item {
        Item::Qualifier(_) => 0,
        Item::List(_) => 1,
        Item::Number(_) => 2,
    };
    match (a, b) {
        (Item::Number(x), Item::Number(y)) => x.cmp(y),
        (Item::Qualifier(x), Item::Qualifier(y)) => x.cmp(y),
        (Item::List(x), Item::List(y)) => compare_lists(x, y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Compares two Maven versions as Maven does for one pair (see [`Version::maven_order`]).
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    crate::compare_parsed_by(a, b, Version::maven_order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(a, b).unwrap_or_else(|e| panic!("{a} vs {b}: {e}"))
    }

    fn canonical(text: &str) -> String {
        text.parse::<Version>().expect("valid").canonical().to_string()
    }

    #[test]
    fn items_and_sub_lists() {
        assert_eq!(canonical("1.0a1"), "1-alpha-1");
        assert_eq!(canonical("1-2.a3"), "1-2.alpha-3");
        assert_eq!(canonical("1.0.0-ga"), "1");
        assert_eq!(canonical("1.0-1"), "1-1");
        assert_eq!(canonical("1-0.0-1"), "1-1");
        assert_eq!(canonical("1.0-SNAPSHOT"), "1-snapshot");
        assert_eq!(canonical("..1"), "0.0.1");
        // The leading 0 goes (a null before a sub-list), leaving `[[1]]`, below `[1]`.
        assert_eq!(canonical("-1"), "1");
        assert_eq!(cmp("-1", "1"), Ordering::Less);
        assert_eq!(canonical("1x"), "1-x");
        assert_eq!(canonical("1-RELEASE"), "1");
        assert_eq!(canonical("007.1"), "7.1");
    }

    #[test]
    fn qualifier_order() {
        let chain = [
            "1-alpha",
            "1-beta",
            "1-milestone",
            "1-rc",
            "1-snapshot",
            "1",
            "1-sp",
            "1-abc",
            "1-abd",
            "1-1",
            "1.1",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(cmp(pair[1], pair[0]), Ordering::Greater, "{pair:?}");
        }
    }

    #[test]
    fn aliases_and_case() {
        for (a, b) in [
            ("1a1", "1-alpha-1"),
            ("1B2", "1-beta-2"),
            ("1m3", "1-MILESTONE-3"),
            ("1cr", "1rc"),
            ("1.final", "1"),
            ("1-GA", "1"),
            ("1 ", "1.0"),
        ] {
            assert_eq!(cmp(a, b), Ordering::Equal, "{a} = {b}");
        }
        // A lone `a` is not `alpha`: it is an unknown qualifier, above a release.
        assert_eq!(cmp("1-a", "1"), Ordering::Greater);
        assert_eq!(cmp("1a1", "1-a-1"), Ordering::Less);
    }

    #[test]
    fn nulls_at_each_hyphen() {
        assert_eq!(cmp("1-ga-1", "1-1"), Ordering::Equal);
        assert_eq!(cmp("1-0-1", "1-1"), Ordering::Equal);
        assert_eq!(cmp("1-sp-1", "1-ga-1"), Ordering::Less);
        assert_eq!(cmp("1-0.1", "1"), Ordering::Greater);
        assert_eq!(cmp("1-ga.x", "1"), Ordering::Greater);
    }

    #[test]
    fn a_qualifier_after_a_dot_is_not_read_as_after_a_hyphen() {
        // maven-artifact 3.8.6, as the vectors have it; 3.8.7 (MNG-7644) says the opposite.
        assert_eq!(cmp("1.0.0-RC16", "1.0.0.RC8-beta"), Ordering::Less);
        assert_eq!(cmp("1.5.9.RC1", "1.5.9-RC0"), Ordering::Less);
    }

    #[test]
    fn numbers_of_any_length() {
        assert_eq!(
            cmp("12345678901234567890.1", "1234567890123456789.1"),
            Ordering::Greater
        );
        assert_eq!(cmp("2147483648", "2147483647"), Ordering::Greater);
    }

    #[test]
    fn empty_is_refused_and_odd_text_is_kept() {
        assert!(compare("", "1").is_err());
        assert_eq!(cmp("1.0-αβ", "1.0-αγ"), Ordering::Less);
        assert_eq!(cmp("1--", "1"), Ordering::Equal);
    }
}
