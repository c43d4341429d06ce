//! `include/edu_api.h` against the Rust definitions.
//!
//! The test reads the header, builds a C program from what it finds there (every object-like
//! `#define` with a value, every field of every `typedef struct`), compiles it with the host C
//! compiler (`$CC`, else `cc`) and compares what the program prints with the Rust constants,
//! sizes and wire offsets. A name present on one side only fails the test, as does a value,
//! size, offset or width that differs, so the header cannot drift from `src/lib.rs` silently.
//! The IOCTL table in the header's comment and the one in the repository's README are checked
//! against the codes as well.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed step is a failed test"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use edu_api::{
    ALL_IOCTLS, API_VERSION, DEVICE_BUFFER_SIZE, DeviceInfo, DmaAt, DmaMode,
    GUID_DEVINTERFACE_EDU_DMA, IOCTL_EDU_DMA_READ_AT, IOCTL_EDU_DMA_WRITE_AT, IOCTL_EDU_GET_INFO,
    IOCTL_EDU_GET_STATS, IOCTL_EDU_LOOPBACK, IOCTL_EDU_RESET, MAX_TRANSFER_LENGTH, Statistics,
};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_text() -> String {
    std::fs::read_to_string(crate_dir().join("include/edu_api.h")).expect("read edu_api.h")
}

/// Object-like macros with a value: `#define NAME VALUE`.
fn header_macros(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("#define ")?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let after = rest.get(name.len()..)?;
            // Function-like macros (`NAME(`) and bare guards (`#define EDU_API_H`) carry no value.
            (after.starts_with(' ') && !after.trim().is_empty()).then_some(name)
        })
        .collect()
}

/// `typedef struct _X { type Field; ... } X;` as (X, [(type, Field)]).
fn header_structs(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut structs = Vec::new();
    let mut current: Option<Vec<(String, String)>> = None;
    for line in text.lines() {
        let code = line.split("/*").next().unwrap_or("").trim();
        if code.starts_with("typedef struct") && code.ends_with('{') {
            current = Some(Vec::new());
        } else if let Some(fields) = current.as_mut() {
            if let Some(name) = code.strip_prefix('}') {
                let name = name.trim().trim_end_matches(';').trim().to_owned();
                structs.push((name, current.take().unwrap_or_default()));
            } else if !code.is_empty() {
                let mut parts = code.trim_end_matches(';').split_whitespace();
                let ty = parts.next().expect("field type").to_owned();
                let field = parts.next().expect("field name").to_owned();
                assert!(parts.next().is_none(), "one field per line: {line}");
                fields.push((ty, field));
            }
        }
    }
    assert!(current.is_none(), "unterminated struct in edu_api.h");
    structs
}

/// Every value the Rust crate defines, under the header's macro name.
fn rust_macros() -> BTreeMap<&'static str, u64> {
    let g = GUID_DEVINTERFACE_EDU_DMA;
    let d4 = g.data4.map(u64::from);
    BTreeMap::from([
        ("EDU_API_VERSION", u64::from(API_VERSION)),
        ("EDU_DEVICE_BUFFER_SIZE", u64::from(DEVICE_BUFFER_SIZE)),
        ("EDU_MAX_TRANSFER_LENGTH", MAX_TRANSFER_LENGTH as u64),
        ("EDU_DMA_MODE_BUS_MASTER", DmaMode::BusMaster as u64),
        ("EDU_DMA_MODE_SYSTEM", DmaMode::System as u64),
        ("IOCTL_EDU_GET_INFO", u64::from(IOCTL_EDU_GET_INFO)),
        ("IOCTL_EDU_GET_STATS", u64::from(IOCTL_EDU_GET_STATS)),
        ("IOCTL_EDU_RESET", u64::from(IOCTL_EDU_RESET)),
        ("IOCTL_EDU_DMA_WRITE_AT", u64::from(IOCTL_EDU_DMA_WRITE_AT)),
        ("IOCTL_EDU_DMA_READ_AT", u64::from(IOCTL_EDU_DMA_READ_AT)),
        ("IOCTL_EDU_LOOPBACK", u64::from(IOCTL_EDU_LOOPBACK)),
        ("EDU_DEVINTERFACE_GUID_DATA1", u64::from(g.data1)),
        ("EDU_DEVINTERFACE_GUID_DATA2", u64::from(g.data2)),
        ("EDU_DEVINTERFACE_GUID_DATA3", u64::from(g.data3)),
        ("EDU_DEVINTERFACE_GUID_DATA4_0", d4[0]),
        ("EDU_DEVINTERFACE_GUID_DATA4_1", d4[1]),
        ("EDU_DEVINTERFACE_GUID_DATA4_2", d4[2]),
        ("EDU_DEVINTERFACE_GUID_DATA4_3", d4[3]),
        ("EDU_DEVINTERFACE_GUID_DATA4_4", d4[4]),
        ("EDU_DEVINTERFACE_GUID_DATA4_5", d4[5]),
        ("EDU_DEVINTERFACE_GUID_DATA4_6", d4[6]),
        ("EDU_DEVINTERFACE_GUID_DATA4_7", d4[7]),
    ])
}

/// Offset of a field in the Rust wire encoding: the position of a marker written into it.
fn wire_offset<T: Default>(set: impl Fn(&mut T), encode: impl Fn(&T) -> Vec<u8>) -> usize {
    let mut value = T::default();
    set(&mut value);
    let bytes = encode(&value);
    let at: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == 0xA5)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "marker found exactly once");
    at[0]
}

/// One Rust wire struct: its size and, per field (`snake_case`), the wire offset and width.
struct RustStruct {
    size: usize,
    fields: BTreeMap<&'static str, (usize, usize)>,
}

macro_rules! fields {
    ($ty:ty, $encode:expr, $($field:ident: $width:ty),* $(,)?) => {{
        let mut map = BTreeMap::new();
        $(
            let offset = wire_offset::<$ty>(
                |s| s.$field = <$width>::from(0xA5_u8),
                $encode,
            );
            assert_eq!(offset, core::mem::offset_of!($ty, $field), "wire = repr(C)");
            map.insert(stringify!($field), (offset, core::mem::size_of::<$width>()));
        )*
        map
    }};
}

fn rust_structs() -> BTreeMap<&'static str, RustStruct> {
    let dma_at = RustStruct {
        size: DmaAt::SIZE,
        fields: fields!(DmaAt, |s| s.to_bytes().to_vec(), offset: u32, reserved: u32),
    };
    let info = RustStruct {
        size: DeviceInfo::SIZE,
        fields: fields!(
            DeviceInfo,
            |s| s.to_bytes().to_vec(),
            api_version: u32,
            device_id: u32,
            dma_mode: u32,
            address_width: u32,
            max_transfer: u32,
            fragment_length: u32,
            buffer_size: u32,
            msi: u32,
        ),
    };
    let stats = RustStruct {
        size: Statistics::SIZE,
        fields: fields!(
            Statistics,
            |s| s.to_bytes().to_vec(),
            requests: u64,
            bytes_read: u64,
            bytes_written: u64,
            fragments: u64,
            errors: u64,
            cancelled: u64,
            timeouts: u64,
            interrupts: u64,
        ),
    };
    assert_eq!(core::mem::size_of::<DmaAt>(), DmaAt::SIZE);
    assert_eq!(core::mem::size_of::<DeviceInfo>(), DeviceInfo::SIZE);
    assert_eq!(core::mem::size_of::<Statistics>(), Statistics::SIZE);
    BTreeMap::from([
        ("EDU_DMA_AT", dma_at),
        ("EDU_DEVICE_INFO", info),
        ("EDU_STATISTICS", stats),
    ])
}

/// `ApiVersion` → `api_version`.
fn snake(pascal: &str) -> String {
    let mut out = String::new();
    for (i, c) in pascal.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Compiles `source` (which includes the header) and returns what the program prints.
fn compile_and_run(name: &str, source: &str, extra: &[&str]) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("edu-api-c-header");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let c_file = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&c_file, source).expect("write C source");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .args(extra)
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(&c_file)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}` (set CC): {e}"));
    assert!(
        output.status.success(),
        "{cc} failed on {}:\n{}",
        c_file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let run = Command::new(&exe).output().expect("run the C program");
    assert!(run.status.success(), "the C program failed");
    String::from_utf8(run.stdout).expect("UTF-8 output")
}

/// Parses `key value` lines.
fn lines_to_map(out: &str) -> BTreeMap<String, u64> {
    out.lines()
        .map(|line| {
            let (key, value) = line.rsplit_once(' ').expect("key value");
            (key.to_owned(), value.parse().expect("number"))
        })
        .collect()
}

#[test]
fn header_values_and_layouts_match_the_rust_definitions() {
    let text = header_text();
    let macros = header_macros(&text);
    let structs = header_structs(&text);
    let mut program = String::from(
        "#include <stdio.h>\n#include \"edu_api.h\"\n#define FIELD(T, F) \
         printf(\"offset \" #T \" \" #F \" %zu\\nwidth \" #T \" \" #F \" %zu\\n\", \
         offsetof(T, F), sizeof(((T *)0)->F))\n\
         int main(void) {\n",
    );
    for name in &macros {
        writeln!(
            program,
            "    printf(\"{name} %llu\\n\", (unsigned long long)({name}));"
        )
        .expect("write");
    }
    for (name, fields) in &structs {
        writeln!(program, "    printf(\"{name} %zu\\n\", sizeof({name}));").expect("write");
        for (_, field) in fields {
            writeln!(program, "    FIELD({name}, {field});").expect("write");
        }
    }
    program.push_str("    return 0;\n}\n");
    let printed = lines_to_map(&compile_and_run("values", &program, &[]));

    // Macros: the same names on both sides, and the same values.
    let rust = rust_macros();
    let header_names: Vec<&str> = macros.iter().map(String::as_str).collect();
    let rust_names: Vec<&str> = rust.keys().copied().collect();
    let mut sorted_header = header_names.clone();
    sorted_header.sort_unstable();
    assert_eq!(sorted_header, rust_names, "macro names: header vs Rust");
    for (name, value) in &rust {
        assert_eq!(printed.get(*name), Some(value), "value of {name}");
    }
    // Every IOCTL the driver implements is in the header.
    let mut header_ioctls: Vec<u64> = rust
        .iter()
        .filter(|(name, _)| name.starts_with("IOCTL_"))
        .map(|(_, v)| *v)
        .collect();
    let mut all: Vec<u64> = ALL_IOCTLS.iter().map(|c| u64::from(*c)).collect();
    header_ioctls.sort_unstable();
    all.sort_unstable();
    assert_eq!(
        header_ioctls, all,
        "the header lists every IOCTL of ALL_IOCTLS"
    );

    // Structures: the same structs, fields in order, sizes, offsets and widths.
    let rust_structs = rust_structs();
    let header_struct_names: Vec<&str> = {
        let mut v: Vec<&str> = structs.iter().map(|(n, _)| n.as_str()).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(
        header_struct_names,
        rust_structs.keys().copied().collect::<Vec<_>>(),
        "struct names: header vs Rust"
    );
    for (name, fields) in &structs {
        let r = &rust_structs[name.as_str()];
        assert_eq!(
            printed.get(name.as_str()),
            Some(&(r.size as u64)),
            "sizeof({name})"
        );
        let header_fields: Vec<String> = fields.iter().map(|(_, f)| snake(f)).collect();
        let mut by_offset: Vec<(&&str, &(usize, usize))> = r.fields.iter().collect();
        by_offset.sort_by_key(|(_, (offset, _))| *offset);
        let rust_fields: Vec<String> = by_offset.iter().map(|(f, _)| (**f).to_owned()).collect();
        assert_eq!(header_fields, rust_fields, "fields of {name}, in order");
        for (ty, field) in fields {
            let (offset, width) = r.fields[snake(field).as_str()];
            let key = format!("{name} {field}");
            let printed_offset = printed.get(&format!("offset {key}")).copied();
            let printed_width = printed.get(&format!("width {key}")).copied();
            assert_eq!(printed_offset, Some(offset as u64), "offset of {key}");
            assert_eq!(printed_width, Some(width as u64), "width of {key}");
            assert_eq!(ty, &format!("uint{}_t", width * 8), "C type of {key}");
        }
    }
}

#[test]
fn header_checks_its_codes_against_ctl_code_and_declares_the_guid() {
    // What <winioctl.h> and <guiddef.h> provide, restated from their documented definitions,
    // so the header's CTL_CODE assertions and its DEFINE_GUID line are compiled too.
    let program = r#"
#include <stdio.h>
#define FILE_DEVICE_UNKNOWN 0x00000022
#define METHOD_BUFFERED 0
#define METHOD_IN_DIRECT 1
#define METHOD_OUT_DIRECT 2
#define FILE_ANY_ACCESS 0
#define FILE_READ_ACCESS 1
#define FILE_WRITE_ACCESS 2
#define CTL_CODE(DeviceType, Function, Method, Access) \
    (((DeviceType) << 16) | ((Access) << 14) | ((Function) << 2) | (Method))
typedef struct { unsigned int Data1; unsigned short Data2, Data3; unsigned char Data4[8]; } GUID;
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
    const GUID name = { l, w1, w2, { b1, b2, b3, b4, b5, b6, b7, b8 } }
#include "edu_api.h"
int main(void) {
    const GUID *g = &GUID_DEVINTERFACE_EDU_DMA;
    int i;
    printf("%08X-%04X-%04X-", g->Data1, g->Data2, g->Data3);
    for (i = 0; i < 8; i++) printf(i == 2 ? "-%02X" : "%02X", g->Data4[i]);
    printf("\n");
    return 0;
}
"#;
    let printed = compile_and_run("ctl_code", program, &[]);
    let g = GUID_DEVINTERFACE_EDU_DMA;
    let d = g.data4;
    let expected = format!(
        "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}\n",
        g.data1, g.data2, g.data3, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
    );
    assert_eq!(printed, expected);
    assert_eq!(expected, "5E3C9A52-8D1F-4B7E-9C2A-3F6D1E8B7A40\n");

    // A wrong written-out code must fail to compile: the assertion has teeth.
    let text = header_text().replace("0x0022A00Du", "0x0022A00Eu");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("edu-api-c-header/broken");
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("edu_api.h"), text).expect("write broken header");
    std::fs::write(dir.join("broken.c"), program).expect("write C source");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c99", "-fsyntax-only", "-I"])
        .arg(&dir)
        .arg(dir.join("broken.c"))
        .output()
        .expect("run the C compiler");
    assert!(
        !status.status.success()
            && String::from_utf8_lossy(&status.stderr).contains("edu_api_assert_ctl_dma_write_at"),
        "a written-out code that differs from CTL_CODE must fail its assertion"
    );
}

/// Names of the transfer methods and access bits as written in the tables.
const fn method_name(code: u32) -> &'static str {
    [
        "METHOD_BUFFERED",
        "METHOD_IN_DIRECT",
        "METHOD_OUT_DIRECT",
        "METHOD_NEITHER",
    ][(code & 3) as usize]
}

const fn access_bits(code: u32) -> u32 {
    (code >> 14) & 3
}

fn ioctl_by_name() -> BTreeMap<&'static str, u32> {
    BTreeMap::from([
        ("IOCTL_EDU_GET_INFO", IOCTL_EDU_GET_INFO),
        ("IOCTL_EDU_GET_STATS", IOCTL_EDU_GET_STATS),
        ("IOCTL_EDU_RESET", IOCTL_EDU_RESET),
        ("IOCTL_EDU_DMA_WRITE_AT", IOCTL_EDU_DMA_WRITE_AT),
        ("IOCTL_EDU_DMA_READ_AT", IOCTL_EDU_DMA_READ_AT),
        ("IOCTL_EDU_LOOPBACK", IOCTL_EDU_LOOPBACK),
    ])
}

/// Access bits named in a table cell (`FILE_READ|FILE_WRITE_ACCESS`, `FILE_ANY_ACCESS`, ...).
fn access_of_cell(cell: &str) -> u32 {
    let mut bits = 0;
    if cell.contains("READ") {
        bits |= 1;
    }
    if cell.contains("WRITE") {
        bits |= 2;
    }
    assert!(bits != 0 || cell.contains("ANY"), "access cell `{cell}`");
    bits
}

#[test]
fn header_comment_table_matches_the_codes() {
    let text = header_text();
    let codes = ioctl_by_name();
    let mut seen = Vec::new();
    for line in text.lines() {
        let Some(row) = line.trim_start().strip_prefix("*   IOCTL_EDU_") else {
            continue;
        };
        let cols: Vec<&str> = row.split_whitespace().collect();
        let name = format!("IOCTL_EDU_{}", cols[0]);
        let code = codes[name.as_str()];
        let function = u32::from_str_radix(cols[1].trim_start_matches("0x"), 16).expect("hex");
        assert_eq!(function, (code >> 2) & 0xFFF, "function of {name}");
        assert_eq!(cols[2], method_name(code), "method of {name}");
        assert_eq!(
            access_of_cell(cols[3]),
            access_bits(code),
            "access of {name}"
        );
        seen.push(name);
    }
    seen.sort();
    assert_eq!(
        seen,
        codes.keys().map(|k| (*k).to_owned()).collect::<Vec<_>>()
    );
}

#[test]
fn readme_table_matches_the_codes() {
    let readme = std::fs::read_to_string(crate_dir().join("../../README.md")).expect("README");
    let codes = ioctl_by_name();
    let mut seen = Vec::new();
    for line in readme.lines() {
        let Some(row) = line.strip_prefix("| `IOCTL_EDU_") else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let name = format!("IOCTL_EDU_{}", cells[0].trim_end_matches('`'));
        let code = codes[name.as_str()];
        let written = u32::from_str_radix(cells[1].trim_matches('`').trim_start_matches("0x"), 16)
            .expect("hex code");
        assert_eq!(written, code, "code of {name} in the README");
        assert!(
            cells[2].contains(method_name(code)),
            "method of {name} in the README"
        );
        assert_eq!(
            access_of_cell(cells[3]),
            access_bits(code),
            "access of {name} in the README"
        );
        seen.push(name);
    }
    seen.sort();
    assert_eq!(
        seen,
        codes.keys().map(|k| (*k).to_owned()).collect::<Vec<_>>()
    );
}
