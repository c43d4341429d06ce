//! `docs/evidence.md` quotes every row of `docs/evidence-counts.txt`, the exact counts that
//! `scripts/evidence.sh` measures and that the interleavings and fuzz tests compare on every
//! run. Together the two checks keep the published figures from drifting silently.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a test failure"
)]

use std::collections::BTreeMap;

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// `12884688` as `12,884,688`.
fn grouped(number: &str) -> String {
    let digits: Vec<char> = number.chars().collect();
    let mut out = String::new();
    for (i, digit) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*digit);
    }
    out
}

/// `22.40` as `22.4`, `8.00` as `8`.
fn trimmed(number: &str) -> String {
    if number.contains('.') {
        number
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    } else {
        number.to_owned()
    }
}

/// A row's `name=value` fields.
fn fields(row: &str) -> BTreeMap<&str, &str> {
    row.split_whitespace()
        .filter_map(|field| field.split_once('='))
        .collect()
}

/// The one line of the doc that contains every one of `needles`.
fn line_with_all(doc: &str, row: &str, needles: &[String]) {
    let found = doc
        .lines()
        .any(|line| needles.iter().all(|needle| line.contains(needle.as_str())));
    assert!(
        found,
        "docs/evidence.md has no line quoting the recorded row\n  {row}\n(expected on one line: {needles:?}); update the doc or re-run scripts/evidence.sh"
    );
}

fn status_name(code: &str) -> &'static str {
    match code {
        "0x00000000" => "STATUS_SUCCESS",
        "0xc0000010" => "STATUS_INVALID_DEVICE_REQUEST",
        "0xc000000d" => "STATUS_INVALID_PARAMETER",
        "0xc0000023" => "STATUS_BUFFER_TOO_SMALL",
        "0xc0000206" => "STATUS_INVALID_BUFFER_SIZE",
        other => panic!("a status the fuzzer's contract does not list: {other}"),
    }
}

#[test]
fn the_evidence_doc_quotes_every_recorded_count() {
    let counts = read("docs/evidence-counts.txt");
    let doc = read("docs/evidence.md");
    let rows: Vec<&str> = counts
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .collect();
    assert!(rows.len() >= 8, "the recorded rows are missing: {counts}");
    for row in rows {
        let kind = row.split_whitespace().next().unwrap_or_default();
        let f = fields(row);
        let field = |name: &str| -> String {
            (*f.get(name)
                .unwrap_or_else(|| panic!("{row}: no field {name}")))
            .to_owned()
        };
        match kind {
            "interleavings" => line_with_all(
                &doc,
                row,
                &[
                    format!("{} seeds", grouped(&field("seeds"))),
                    format!("{} requests", grouped(&field("requests"))),
                    format!("{} DMA transfers", grouped(&field("transfers"))),
                    format!("{} faults", grouped(&field("faults"))),
                    format!("{} WDF calls", grouped(&field("wdf_calls"))),
                ],
            ),
            "fuzz" => {
                let mut needles = vec![format!("{} inputs", grouped(&field("inputs")))];
                for (code, count) in &f {
                    if code.starts_with("0x") {
                        needles.push(format!("`{}` {}", status_name(code), grouped(count)));
                    }
                }
                line_with_all(&doc, row, &needles);
            }
            "hot_path" => {
                let mut words = row.split_whitespace().skip(1);
                let personality = match words.next() {
                    Some("edu") => "edu",
                    Some("system") => "system DMA",
                    other => panic!("{row}: personality {other:?}"),
                };
                let direction = words.next().unwrap_or_default();
                let per = |name: &str| -> String {
                    let value = field(name);
                    let (base, fragment) = value
                        .split_once('+')
                        .unwrap_or_else(|| panic!("{row}: {name}"));
                    let (base, fragment) = (trimmed(base), trimmed(fragment));
                    if base == "0" {
                        format!("| {fragment} per fragment |")
                    } else {
                        format!("| {base} + {fragment} per fragment |")
                    }
                };
                line_with_all(
                    &doc,
                    row,
                    &[
                        format!("| {personality}, {direction} |"),
                        per("wdf_calls"),
                        per("register_accesses"),
                        format!("| {} |", field("objects_created")),
                    ],
                );
            }
            "callgrind" => line_with_all(
                &doc,
                row,
                &[format!(
                    "{} instructions per request ({} per fragment)",
                    grouped(&field("instructions_per_request")),
                    grouped(&field("per_fragment"))
                )],
            ),
            other => panic!("unknown row kind {other}: {row}"),
        }
    }
}

#[test]
fn numbers_are_written_as_the_doc_writes_them() {
    assert_eq!(grouped("12884688"), "12,884,688");
    assert_eq!(grouped("706"), "706");
    assert_eq!(grouped("1000"), "1,000");
    assert_eq!(trimmed("22.40"), "22.4");
    assert_eq!(trimmed("8.00"), "8");
    assert_eq!(trimmed("10"), "10");
}
