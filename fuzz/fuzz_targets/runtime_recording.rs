//! Fuzzes runtime event recordings: arbitrary bytes as JSON lines give events or an error
//! naming the line (bad JSON, or a process or container reference no earlier line defined),
//! never a panic; every event read answers every catalogued field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moat_rules::{fields, Event, FieldExpr};
use moat_runtime::{RecordError, RecordingReader};

fuzz_target!(|data: &[u8]| {
    for event in RecordingReader::new(data) {
        match event {
            Ok(event) => {
                for info in fields::all() {
                    let field = FieldExpr {
                        name: info.name.to_string(),
                        arg: None,
                        transformers: Vec::new(),
                    };
                    let _ = event.field(&field);
                }
            }
            Err(RecordError::BadEvent { line, .. })
            | Err(RecordError::LineTooLong { line, .. })
            | Err(RecordError::UndefinedRef { line, .. }) => {
                assert!(line >= 1);
            }
            Err(_) => {}
        }
    }
});
