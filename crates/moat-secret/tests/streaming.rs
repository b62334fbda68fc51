//! Streaming large input in chunks: secrets across chunk boundaries are found once, with
//! absolute line numbers; binary content is skipped.

use moat_secret::{RuleSet, CHUNK_OVERLAP, CHUNK_SIZE};

fn token(seed: u8) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let body: String = (0..36u32)
        .map(|i| {
            let index = (u32::from(seed) * 31 + i * 17 + i * i * 7) as usize % alphabet.len();
            char::from(alphabet[index])
        })
        .collect();
    format!("ghp_{body}")
}

/// Filler lines of 64 bytes each, numbered so they never repeat.
fn filler(lines: usize, first: usize) -> String {
    (first..first + lines)
        .map(|n| format!("filler line {n:>10} with nothing secret in it at all....\n"))
        .collect()
}

#[test]
fn a_secret_across_a_chunk_boundary_is_found_once_with_its_line() {
    let line_len = filler(1, 0).len();
    // Put the token so that it starts a few bytes before the first chunk's end.
    let lines_before = CHUNK_SIZE / line_len;
    let mut text = filler(lines_before, 0);
    let pad = CHUNK_SIZE - text.len() - 10;
    text.push_str(&"x".repeat(pad));
    text.push_str(" token: ");
    let secret = token(1);
    let secret_offset = text.len();
    text.push_str(&secret);
    text.push('\n');
    let secret_line = lines_before + 1;
    assert!(secret_offset < CHUNK_SIZE && secret_offset + secret.len() > CHUNK_SIZE);
    // More than two further chunks, with a second secret near the end.
    text.push_str(&filler(2 * CHUNK_SIZE / line_len + 100, lines_before));
    let second = token(2);
    text.push_str(&format!("other: {second}\n"));
    let second_line = text.lines().count();
    assert!(text.len() > 3 * CHUNK_SIZE);

    let rules = RuleSet::builtin();
    let streamed = rules.scan_reader("big.txt", text.as_bytes()).unwrap();
    let whole = rules.scan_bytes("big.txt", text.as_bytes());
    assert_eq!(streamed, whole);
    assert_eq!(streamed.len(), 2, "{streamed:#?}");
    assert_eq!(streamed[0].secret, secret);
    assert_eq!(streamed[0].location.start_line as usize, secret_line);
    assert_eq!(streamed[0].location.start_column as usize, pad + 9);
    assert_eq!(streamed[1].secret, second);
    assert_eq!(streamed[1].location.start_line as usize, second_line);
    assert_eq!(streamed[1].location.start_column, 8);
}

#[test]
fn every_chunk_boundary_position_finds_the_secret_exactly_once() {
    let rules = RuleSet::builtin();
    let chunk = 4 * CHUNK_OVERLAP;
    let secret = token(3);
    for shift in [0usize, 1, 5, 20, 39, 40, 41, 100] {
        let mut text = "y".repeat(chunk - shift);
        text.push('\n');
        text.push_str(&format!("k: {secret}\n"));
        text.push_str(&filler(chunk / 32, 0));
        let found = rules
            .scan_reader_chunked("f.txt", text.as_bytes(), chunk)
            .unwrap();
        assert_eq!(found.len(), 1, "shift {shift}: {found:#?}");
        assert_eq!(
            (found[0].location.start_line, found[0].location.start_column),
            (2, 4)
        );
    }
}

#[test]
fn columns_stay_right_on_a_line_longer_than_a_chunk() {
    let rules = RuleSet::builtin();
    let chunk = 4 * CHUNK_OVERLAP;
    let secret = token(4);
    let mut text = "minified();".repeat(3 * chunk / 11);
    let column = text.len() + 1;
    text.push_str(&secret);
    text.push_str(";more();\nnext line\n");
    let found = rules
        .scan_reader_chunked("app.min.js", text.as_bytes(), chunk)
        .unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (
            found[0].location.start_line,
            found[0].location.start_column as usize
        ),
        (1, column)
    );
    assert!(found[0].line.len() <= 300 && found[0].line.contains(&secret));
}

#[test]
fn binary_content_is_skipped() {
    let rules = RuleSet::builtin();
    let mut data = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0];
    data.extend_from_slice(format!("\n{}\n", token(5)).as_bytes());
    assert!(moat_secret::is_binary(&data));
    assert!(rules
        .scan_reader("/usr/bin/tool", data.as_slice())
        .unwrap()
        .is_empty());
    // The same bytes without the binary header are scanned.
    let text = format!("\n{}\n", token(5));
    assert_eq!(
        rules.scan_reader("/usr/bin/tool", text.as_bytes()).unwrap().len(),
        1
    );
}

#[test]
fn empty_input_has_no_findings() {
    let rules = RuleSet::builtin().with_entropy_detectors();
    assert!(rules.scan_reader("empty", &b""[..]).unwrap().is_empty());
    assert!(rules.scan_bytes("empty", b"").is_empty());
}
